"""Read a data table from CSV/TSV, Parquet, SPSS, Stata or Excel, chosen by file extension.

The file is only read, never written. Every failure is a :class:`alliance.errors.DataError`
that names the file and says what to do.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from alliance.errors import DataError
from alliance.io.validation import format_names, require_columns

_DELIMITED = {".csv": None, ".txt": None, ".tsv": "\t", ".tab": "\t"}
_FORMATS = {
    **{extension: "delimited text" for extension in _DELIMITED},
    ".parquet": "Parquet",
    ".pq": "Parquet",
    ".sav": "SPSS",
    ".zsav": "SPSS",
    ".dta": "Stata",
    ".xlsx": "Excel",
    ".xlsm": "Excel",
}
#: Encodings tried in turn for delimited text: UTF-8 (with or without a byte-order
#: mark), then Windows-1252, which is what spreadsheet programs on Windows write.
_TEXT_ENCODINGS = ("utf-8-sig", "cp1252")


def read_table(
    path: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read a data table, choosing the reader by the file's extension.

    ``.csv``/``.txt`` (delimiter ``,``, ``;`` or tab, whichever the header line uses
    most; UTF-8, else Windows-1252; empty cells and the usual markers such as ``NA``,
    ``N/A``, ``n/a``, ``NaN`` and ``null`` read as missing), ``.tsv``/``.tab`` (tab),
    ``.parquet``/``.pq``, SPSS ``.sav``/``.zsav``
    (numeric codes, not value labels; user-defined missing values become missing),
    Stata ``.dta`` (numeric codes, not value labels) and Excel ``.xlsx``/``.xlsm``.

    Parameters
    ----------
    path
        The file to read. It is opened for reading only.
    columns
        Columns the caller needs. When given, each must exist, and the returned table
        holds exactly these columns, in this order.
    sheet
        Excel only: the sheet name or 0-based position (default: the first sheet).

    Returns
    -------
    pandas.DataFrame
        One row per data row of the file, in file order, with a default integer index; for
        an Excel file, ``attrs["sheet"]`` is the name of the sheet read.

    Raises
    ------
    DataError
        If the file does not exist, has an unknown extension, cannot be parsed, has no
        data rows, names a column twice in its header, or lacks any of ``columns`` (each
        missing column is named with the closest existing names).
    """
    file = Path(path)
    source = str(file)
    if not file.exists():
        raise DataError(f"{source}: file not found. Check the path and the working directory.")
    if file.is_dir():
        raise DataError(f"{source}: is a folder, not a data file. Name a file inside it.")
    extension = file.suffix.lower()
    if extension not in _FORMATS:
        known = ", ".join(sorted(_FORMATS))
        hint = " Save it as .xlsx or .csv." if extension == ".xls" else ""
        raise DataError(
            f"{source}: cannot tell the file format from the extension {extension!r}."
            f" Known extensions: {known}.{hint}"
        )
    if sheet is not None and _FORMATS[extension] != "Excel":
        raise DataError(
            f"{source}: a sheet was named ({sheet!r}), but this is a "
            f"{_FORMATS[extension]} file, which has no sheets. Leave the sheet out."
        )

    frame = _read(file, extension, sheet)
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        raise DataError(
            f"{source}: the table has no data rows"
            + ("" if frame.shape[1] else " and no columns")
            + ". Check that this is the right file and that it was saved completely."
        )
    if columns is not None:
        wanted = list(columns)
        duplicates = sorted({c for c in wanted if wanted.count(c) > 1})
        if duplicates:
            raise DataError(
                f"{source}: the columns {duplicates} were requested more than once."
                " Name each column once."
            )
        require_columns(frame, wanted, source=source)
        frame = frame.loc[:, wanted]
    return frame.reset_index(drop=True)


def _read(file: Path, extension: str, sheet: str | int | None) -> pd.DataFrame:
    source = str(file)
    kind = _FORMATS[extension]
    readers: dict[str, Callable[[], pd.DataFrame]] = {
        "delimited text": lambda: _read_delimited(file, _DELIMITED[extension]),
        "Parquet": lambda: pd.read_parquet(file),
        "SPSS": lambda: _read_spss(file),
        "Stata": lambda: pd.read_stata(file, convert_categoricals=False),
        "Excel": lambda: _read_excel(file, sheet),
    }
    try:
        return readers[kind]()
    except DataError:
        raise
    except pd.errors.EmptyDataError as error:
        raise DataError(
            f"{source}: the file is empty. Check that this is the right file."
        ) from error
    except Exception as error:  # every reader has its own exception types
        raise DataError(
            f"{source}: cannot be read as a {kind} file ({type(error).__name__}: {error})."
            f" Check that the file is a complete {kind} file and that its extension"
            " matches its content."
        ) from error


def _read_delimited(file: Path, separator: str | None) -> pd.DataFrame:
    last_error: UnicodeDecodeError | None = None
    for encoding in _TEXT_ENCODINGS:
        try:
            sep = separator if separator is not None else _sniff_separator(file, encoding)
            frame = pd.read_csv(file, sep=sep, encoding=encoding)
            header = pd.read_csv(file, sep=sep, encoding=encoding, header=None, nrows=1)
            _require_unique_header(header, file)
            return frame
        except UnicodeDecodeError as error:
            last_error = error
    raise DataError(
        f"{file}: the text is neither UTF-8 nor Windows-1252 ({last_error})."
        " Save the file as UTF-8 text."
    )


def _sniff_separator(file: Path, encoding: str) -> str:
    """The separator the header line uses most: comma, semicolon or tab (comma on ties)."""
    with file.open(encoding=encoding, newline="") as handle:
        header = next((line for line in handle if line.strip()), "")
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: (counts[sep], sep == ","))
    return best


def _read_spss(file: Path) -> pd.DataFrame:
    import pyreadstat

    frame, _meta = pyreadstat.read_sav(str(file), apply_value_formats=False)
    return frame


def _read_excel(file: Path, sheet: str | int | None) -> pd.DataFrame:
    import openpyxl

    workbook = openpyxl.load_workbook(file, read_only=True)
    try:
        names = list(workbook.sheetnames)
    finally:
        workbook.close()
    target: str | int = 0 if sheet is None else sheet
    if isinstance(target, str) and target not in names:
        raise DataError(f"{file}: no sheet named {target!r}. Sheets: {format_names(names)}.")
    if isinstance(target, int) and not 0 <= target < len(names):
        raise DataError(
            f"{file}: no sheet at position {target} (positions start at 0; the workbook has"
            f" {len(names)}). Sheets: {format_names(names)}."
        )
    frame = pd.read_excel(file, sheet_name=target, engine="openpyxl")
    frame.attrs["sheet"] = target if isinstance(target, str) else names[target]
    if len(frame.columns):
        header = pd.read_excel(file, sheet_name=target, engine="openpyxl", header=None, nrows=1)
        _require_unique_header(header, file)
    return frame


def _require_unique_header(header: pd.DataFrame, file: Path) -> None:
    """Refuse repeated column names, which pandas would silently rename (``x``, ``x.1``)."""
    names = [str(name) for name in header.iloc[0].tolist() if not pd.isna(name)]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DataError(
            f"{file}: the header names these columns more than once: "
            f"{format_names(repeated)}. Give every column its own name."
        )


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` as CSV: a header row, no index, missing values empty.

    pyarrow's writer rather than ``DataFrame.to_csv``: pandas formats every float through
    Python one value at a time (1.8 s for the 222,000 rows of a practice network's analysis
    data, against 0.17 s here). The values are the same numbers (shortest round-trip decimals);
    text is always quoted, whole floats print without ``.0`` (``3``, not ``3.0``) and booleans
    as ``true``/``false``. A frame pyarrow cannot convert (a column of mixed Python objects) is
    written by pandas.
    """
    import pyarrow as pa
    import pyarrow.csv as arrow_csv

    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        frame.to_csv(path, index=False)
        return
    arrow_csv.write_csv(table, path, arrow_csv.WriteOptions(quoting_style="needed"))
