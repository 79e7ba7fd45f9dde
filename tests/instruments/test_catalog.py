"""load_instrument / list_instruments: shipped definitions by name, user definitions by path."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from alliance.errors import SpecificationError
from alliance.instruments import list_instruments, load_instrument

PROJECT = Path(__file__).resolve().parents[2]

USER_DEFINITION = """
name = "my-form"
title = "A user's form"
citation = "Test fixture."
rater = "therapist"
item_prefix = "q"
item_count = 2

[response]
min = 1
max = 3

[scoring]
method = "mean"
total = true
total_max_missing = 0
"""


@pytest.mark.parametrize("name", list_instruments())
def test_every_shipped_definition_loads_under_its_file_name(name: str) -> None:
    instrument = load_instrument(name)
    assert instrument.name == name
    assert Path(instrument.source).name == f"{name}.toml"
    assert instrument.title and instrument.citation


def test_definitions_are_package_data() -> None:
    config = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "**/*.toml" in config["tool"]["setuptools"]["package-data"]["alliance"]


def test_unknown_name_suggests_close_names() -> None:
    with pytest.raises(SpecificationError) as caught:
        load_instrument("wai-s-clinet")
    message = str(caught.value)
    assert "unknown instrument 'wai-s-clinet'" in message
    assert "Did you mean 'wai-s-client'" in message
    assert "wai-sr-therapist" in message  # the full list


def test_user_definition_by_path(tmp_path: Path) -> None:
    path = tmp_path / "my-form.toml"
    path.write_text(USER_DEFINITION, encoding="utf-8")
    for given in (path, str(path)):
        form = load_instrument(given)
        assert form.name == "my-form" and form.items == ("q1", "q2")
        assert form.source == str(path)


def test_missing_definition_file(tmp_path: Path) -> None:
    with pytest.raises(SpecificationError, match="file not found") as caught:
        load_instrument(tmp_path / "nope.toml")
    assert "wai-s-client" in str(caught.value)


def test_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('name = "x"\nitems = [', encoding="utf-8")
    with pytest.raises(SpecificationError, match="not valid TOML"):
        load_instrument(path)


def test_the_dpccq_citation_spells_the_authors_names() -> None:
    citation = load_instrument("dpccq-qpl").citation
    assert "Rønnestad, M. H. (2005)" in citation and "Høglend, P. A." in citation
    assert "Ronnestad" not in citation and "483–495" in citation
