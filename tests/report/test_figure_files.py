"""Written figures as the report page reads them back."""

from __future__ import annotations

from pathlib import Path

import pytest

from alliance.report.figure_files import FigureFile, read_figures


def test_a_listing_reads_back_the_written_figures(tmp_path: Path) -> None:
    (tmp_path / "forest.png").write_bytes(b"\x89PNG forest")
    written = [FigureFile("forest", "Effects", "Note.", b"\x89PNG forest"),
               FigureFile("scree", "Scree", "", b"", "No factor analysis in these results.")]
    listed = [figure.to_dict() for figure in written]
    assert "png" not in listed[0]
    assert read_figures(listed, tmp_path) == written


def test_a_listed_figure_without_its_file_is_an_error(tmp_path: Path) -> None:
    listed = [FigureFile("forest", "Effects", "Note.", b"png").to_dict()]
    with pytest.raises(FileNotFoundError):
        read_figures(listed, tmp_path)
