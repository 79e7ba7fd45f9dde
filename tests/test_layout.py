"""The tests mirror the source tree: every module has a test file of its own name or a line in
tests/README.md naming the test files that cover it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "alliance"
TESTS = ROOT / "tests"
# a table row of tests/README.md: | `mixed/levels.py` | `tests/mixed/test_spec.py`, ... |
ROW = re.compile(r"^\|\s*`([\w/]+\.py)`\s*\|(.*)\|\s*$")


def own_test_file(module: Path) -> Path:
    """``src/alliance/mixed/spec.py`` -> ``tests/mixed/test_spec.py``."""
    relative = module.relative_to(SOURCE)
    return TESTS.joinpath(*relative.parent.parts, f"test_{relative.name}")


def covered_elsewhere() -> dict[str, list[str]]:
    """The README's table: module (relative to src/alliance) -> the test files it names."""
    table: dict[str, list[str]] = {}
    for line in (TESTS / "README.md").read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            table[match.group(1)] = re.findall(r"`(tests/[\w/]+\.py)`", match.group(2))
    return table


def modules() -> list[Path]:
    return sorted(path for path in SOURCE.rglob("*.py") if path.name != "__init__.py")


def test_every_module_has_a_test_file_or_a_line_in_the_readme() -> None:
    table = covered_elsewhere()
    missing = [str(path.relative_to(SOURCE)) for path in modules()
               if not own_test_file(path).is_file()
               and path.relative_to(SOURCE).as_posix() not in table]
    assert not missing, (
        "modules without tests/<package>/test_<module>.py and without a line in the table of "
        f"tests/README.md: {missing}; add a test file, or a row naming the tests that cover it"
    )


def test_the_readme_table_names_existing_modules_and_test_files() -> None:
    table = covered_elsewhere()
    assert table, "tests/README.md has no table of modules"
    for module, files in table.items():
        assert (SOURCE / module).is_file(), f"tests/README.md lists {module}, not in src/alliance"
        assert files, f"tests/README.md names no test file for {module}"
        for name in files:
            assert (ROOT / name).is_file(), f"tests/README.md: {name} ({module}) does not exist"


def test_the_readme_lists_only_modules_without_a_test_file_of_their_own() -> None:
    """A row for a module that has its own test file is stale: remove it."""
    stale = [module for module in covered_elsewhere()
             if own_test_file(SOURCE / module).is_file()]
    assert not stale, f"tests/README.md lists modules that have their own test file: {stale}"
