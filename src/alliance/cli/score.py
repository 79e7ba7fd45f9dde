"""``alliance score``: score questionnaire items from a data file with an instrument definition."""

from __future__ import annotations

from enum import StrEnum
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from alliance.cli.common import DebugOption, SheetOption, reported_errors, sheet_choice, stdout
from alliance.errors import DataError

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

    from alliance.instruments import Instrument, ScoreResult

#: Rows of scores shown on screen when they are not written to a file.
PREVIEW_ROWS = 10
#: Invalid cells listed on screen (all of them are in the result).
LISTED_INVALID = 5


class Layout(StrEnum):
    wide = "wide"
    long = "long"


class InvalidPolicy(StrEnum):
    error = "error"
    missing = "missing"


def shipped_instruments() -> list[str]:
    """Names of the instrument definitions shipped with ``alliance``, sorted, for the help.

    The list of :func:`alliance.instruments.list_instruments` (the ``.toml`` files of the
    package's ``definitions`` folder), read without importing the instruments layer, which
    loads numpy and pandas to read definitions: the help would wait for them for nothing.
    Only a package that is not a folder on disk (e.g. in a zip archive) is listed by the
    layer itself.
    """
    spec = find_spec("alliance.instruments")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    folder = Path(locations[0], "definitions") if locations else None
    if folder is None or not folder.is_dir():
        from alliance.instruments import list_instruments

        return list_instruments()
    return sorted(entry.stem for entry in folder.glob("*.toml") if entry.is_file())


def register(app: typer.Typer) -> None:
    """Add the ``score`` subcommand to ``app``."""
    app.command("score")(score_command)


def score_command(
    data: Annotated[
        Path,
        typer.Argument(
            help="Item data: .csv, .tsv, .parquet, SPSS .sav, Stata .dta or Excel .xlsx.",
            show_default=False,
        ),
    ],
    instrument: Annotated[
        str,
        typer.Option(
            "--instrument",
            "-i",
            help="A shipped instrument ("
            + ", ".join(shipped_instruments())
            + ") or the path of a .toml definition.",
            show_default=False,
        ),
    ],
    id_cols: Annotated[
        str | None,
        typer.Option(
            "--id-cols",
            help="Comma-separated columns identifying an administration, e.g. patient,session.",
        ),
    ] = None,
    prefix: Annotated[
        str | None,
        typer.Option(
            "--prefix",
            help="Item columns are named PREFIX + item id (e.g. pt_wai1); "
            "score columns get the same prefix.",
        ),
    ] = None,
    layout: Annotated[
        Layout,
        typer.Option(
            "--layout",
            help="wide: one column per item; long: id columns plus 'item' and 'response'.",
        ),
    ] = Layout.wide,
    invalid: Annotated[
        InvalidPolicy,
        typer.Option(
            "--invalid",
            help="error: stop at responses outside the instrument's range; "
            "missing: treat them as missing and report them.",
        ),
    ] = InvalidPolicy.error,
    sheet: Annotated[str | None, SheetOption] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the scores to this CSV file."),
    ] = None,
    debug: bool = DebugOption,
) -> None:
    """Score questionnaire items: subscale and total scores per administration."""
    with reported_errors("score", debug):
        from alliance.instruments import load_instrument, score
        from alliance.io import read_table
        from alliance.io.output import check_file_output

        if out is not None:
            definition_file = Path(instrument)
            inputs = [data, *([definition_file] if definition_file.is_file() else [])]
            check_file_output(out, inputs, "--out")
        definition = load_instrument(instrument)
        definition.require_scorable()
        ids = [name.strip() for name in (id_cols or "").split(",") if name.strip()]
        frame = read_table(
            data,
            columns=_needed_columns(definition, ids, prefix, layout),
            sheet=sheet_choice(sheet),
        )
        try:
            result = score(
                frame,
                definition,
                id_columns=ids,
                prefix=prefix,
                layout=layout.value,
                invalid=invalid.value,
            )
        except DataError as error:
            raise DataError(f"{data}: {error}") from error
        if out is not None:
            _write_csv(result.scores, out)
        _print_summary(result, data, out)


def _needed_columns(
    instrument: Instrument, ids: list[str], prefix: str | None, layout: Layout
) -> list[str]:
    if layout is Layout.long:
        return [*ids, "item", "response"]
    return [*ids, *(f"{prefix or ''}{item}" for item in instrument.items)]


def _write_csv(scores: pd.DataFrame, path: Path) -> None:
    from alliance.io.output import atomic_file

    with atomic_file(path, "--out") as temporary:
        scores.to_csv(temporary, index=False)


def _print_summary(result: ScoreResult, data: Path, out: Path | None) -> None:
    from rich.table import Table

    definition = result.instrument
    stdout.print(
        f"[bold]{definition.name}[/]: {result.n_administrations} administrations scored "
        f"from {data}",
        highlight=False,
    )
    if definition.notes:
        stdout.print(f"[dim]Note: {definition.notes}[/]", highlight=False)
    stdout.print(
        f"Missing responses: {result.n_missing_cells} empty, "
        f"{result.n_invalid_cells} invalid treated as missing.",
        highlight=False,
    )
    for row in result.invalid_cells.head(LISTED_INVALID).itertuples(index=False):
        stdout.print(
            f"  row {row.row}, column {row.column!r}: {_value(row.value)} ({row.reason})",
            highlight=False,
        )
    if result.n_invalid_cells > LISTED_INVALID:
        stdout.print(f"  ... and {result.n_invalid_cells - LISTED_INVALID} more", highlight=False)

    names = definition.score_names()
    if names:
        table = Table(title="Scores", title_justify="left")
        for heading in ("score", "scored", "missing (too many items missing)"):
            table.add_column(heading, justify="left" if heading == "score" else "right")
        incomplete = result.incomplete["score"].value_counts().to_dict()
        for name in names:
            dropped = int(incomplete.get(name, 0))
            table.add_row(name, str(result.n_administrations - dropped), str(dropped))
        stdout.print(table)
    else:
        stdout.print(
            "No subscales or total are defined: responses were checked and missing items "
            "counted (column n_missing).",
            highlight=False,
        )

    if out is not None:
        stdout.print(f"Scores written to {out}", highlight=False)
    else:
        stdout.print(_preview(result))
        stdout.print("Scores not written: pass --out FILE to write them as CSV.", highlight=False)


def _preview(result: ScoreResult) -> Table:
    """The first rows: ids, scores and missing items (per-score counts are in the file)."""
    from rich.table import Table

    counts = {f"{name}_n_missing" for name in result.instrument.score_names()}
    kept = [c for c in result.scores.columns if not any(str(c).endswith(k) for k in counts)]
    scores = result.scores.loc[:, kept]
    shown = scores.head(PREVIEW_ROWS)
    title = f"First {len(shown)} of {len(scores)} rows" if len(scores) > len(shown) else None
    table = Table(title=title, title_justify="left")
    for column in shown.columns:
        table.add_column(str(column), justify="right")
    for row in shown.itertuples(index=False):
        table.add_row(*(_cell(value) for value in row))
    return table


def _value(value: object) -> str:
    import numpy as np

    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _cell(value: object) -> str:
    import numpy as np

    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else f"{value:.2f}"
    return str(value)
