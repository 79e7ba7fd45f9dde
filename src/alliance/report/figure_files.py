"""What the report's page needs of each figure once it is written: file stem, title, caption
and PNG bytes, or why it is missing.

:func:`alliance.report.figures.write_figures` draws the figures into ``figures/<key>.png`` and
``.svg`` and returns them as :class:`FigureFile`; :mod:`alliance.report.figure_worker` does
the same in a separate interpreter and lists them with :meth:`FigureFile.to_dict`, read back
with :func:`read_figures`. This module does not load matplotlib.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: The figures' folder in a report's folder.
FIGURE_FOLDER = "figures"


@dataclass(frozen=True)
class FigureFile:
    """A figure as written: its file stem, title, caption and PNG bytes (the page embeds
    them), or ``png=b""`` and the reason it is ``unavailable``."""

    key: str
    title: str
    caption: str
    png: bytes
    unavailable: str = ""

    def to_dict(self) -> dict[str, str]:
        """Everything but the bytes, which are in the figure folder."""
        return {"key": self.key, "title": self.title, "caption": self.caption,
                "unavailable": self.unavailable}


def read_figures(listed: list[dict[str, str]], folder: Path) -> list[FigureFile]:
    """The figures :meth:`FigureFile.to_dict` listed, their PNG bytes read from ``folder``."""
    figures = []
    for entry in listed:
        missing = entry["unavailable"]
        png = b"" if missing else (folder / f"{entry['key']}.png").read_bytes()
        figures.append(FigureFile(entry["key"], entry["title"], entry["caption"], png, missing))
    return figures
