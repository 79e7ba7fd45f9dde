"""Outputs never replace inputs, appear complete or not at all, and --overwrite replaces only
alliance's own folders."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from alliance.errors import SpecificationError
from alliance.io.output import (
    MARKER_FILE,
    atomic_file,
    check_file_output,
    is_alliance_output,
    refuse_inputs,
    staged_folder,
    write_text,
)


def test_an_output_is_never_an_input_also_through_a_link(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text("x\n1\n", encoding="utf-8")
    link = tmp_path / "link.csv"
    link.symlink_to(data)
    for target in (data, link, tmp_path / "." / "data.csv"):
        with pytest.raises(SpecificationError, match="would overwrite the input"):
            refuse_inputs([target], [data], "--json")
    with pytest.raises(SpecificationError, match="would overwrite the input"):
        refuse_inputs([tmp_path], [data], "--out")
    refuse_inputs([tmp_path / "other.json"], [data], "--json")
    assert data.read_text(encoding="utf-8") == "x\n1\n"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("missing/out.json", "does not exist"), ("afile/out.json", "is a file, not a folder"),
     ("folder", "is a folder")],
)
def test_a_file_output_must_have_a_place(tmp_path: Path, name: str, expected: str) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    with pytest.raises(SpecificationError, match=expected):
        check_file_output(tmp_path / name, [], "--json")


def test_an_atomic_file_replaces_or_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    write_text(target, "old", "--json")
    with pytest.raises(RuntimeError), atomic_file(target, "--json") as temporary:
        assert temporary.parent == tmp_path and temporary.name.startswith(".out.json.")
        temporary.write_text("half", encoding="utf-8")
        raise RuntimeError("stop")
    assert target.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["out.json"]


def test_a_staged_folder_gets_the_marker(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with staged_folder(out, "replicate") as folder:
        (folder / "results.json").write_text("{}", encoding="utf-8")
        assert not out.exists()
    assert is_alliance_output(out)
    assert json.loads((out / MARKER_FILE).read_text(encoding="utf-8"))["command"] == "replicate"
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_a_failure_leaves_nothing_and_keeps_the_old_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with staged_folder(out, "replicate") as folder:
        (folder / "old.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt), staged_folder(out, "replicate", overwrite=True) as folder:
        (folder / "results.json").write_text("{}", encoding="utf-8")
        raise KeyboardInterrupt
    assert sorted(path.name for path in out.iterdir()) == [MARKER_FILE, "old.txt"]
    assert os.listdir(tmp_path) == ["out"]


def test_overwrite_replaces_only_alliance_output(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious", encoding="utf-8")
    with pytest.raises(SpecificationError, match="exists and is not empty"), staged_folder(
        mine, "analyze"
    ):
        pass
    with pytest.raises(SpecificationError, match="not written by alliance"), staged_folder(
        mine, "analyze", overwrite=True
    ):
        pass
    assert os.listdir(mine) == ["notes.txt"]
    out = tmp_path / "out"
    for text in ("first", "second"):
        with staged_folder(out, "analyze", overwrite=True) as folder:
            (folder / "run.txt").write_text(text, encoding="utf-8")
    assert (out / "run.txt").read_text(encoding="utf-8") == "second"
    assert sorted(os.listdir(tmp_path)) == ["mine", "out"]


def test_a_folder_holding_an_input_is_never_replaced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with staged_folder(out, "analyze") as folder:
        (folder / "data.csv").write_text("x\n1\n", encoding="utf-8")
    with pytest.raises(SpecificationError, match="contains the input"), staged_folder(
        out, "analyze", overwrite=True, inputs=[out / "data.csv"]
    ):
        pass
    assert (out / "data.csv").read_text(encoding="utf-8") == "x\n1\n"


def test_a_folder_filled_meanwhile_is_not_replaced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(SpecificationError, match="exists and is not empty"), staged_folder(
        out, "simulate"
    ) as folder:
        (folder / "a.csv").write_text("mine", encoding="utf-8")
        out.mkdir()
        (out / "b.csv").write_text("theirs", encoding="utf-8")
    assert os.listdir(out) == ["b.csv"]
    assert os.listdir(tmp_path) == ["out"]


def test_an_unwritable_place_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(SpecificationError, match="is not writable"):
        check_file_output(tmp_path / "out.json", [], "--json")
    with pytest.raises(SpecificationError, match="cannot be created"), staged_folder(
        Path("/proc/alliance/out"), "simulate"
    ):
        pass
