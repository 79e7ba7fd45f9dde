"""Imports go one way (docs/architecture.md, "Layers"): a package imports only packages of a
lower rank, and never another package's private module. Imports inside functions count."""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src" / "alliance"

#: The layer order of docs/architecture.md; packages of equal rank are peers.
RANK = {
    "errors": 0, "defaults": 0, "apa": 0, "__init__": 0,
    "io": 1,
    "instruments": 2, "scales": 2, "mixed": 2,
    "simulate": 3,
    "power": 4, "study": 4,
    "report": 5,
    "app": 6,
    "cli": 7,
}

#: Imports against the rules that are known debts (docs/architecture.md, "Known debts"):
#: (importing module, imported module). Remove an entry when the debt is paid.
KNOWN_DEBTS: set[tuple[str, str]] = set()


def package_of(module: Path) -> str:
    """``mixed/spec.py`` -> ``mixed``; ``errors.py`` -> ``errors``."""
    relative = module.relative_to(SOURCE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imported_modules(module: Path) -> list[str]:
    """Every ``alliance`` module ``module`` imports, at the top or inside a function."""
    package = ".".join(("alliance", *module.relative_to(SOURCE).parent.parts))
    return imports_in(module.read_text(encoding="utf-8"), package)


def imports_in(text: str, package: str) -> list[str]:
    """The ``alliance`` modules imported by the source ``text`` of a module of ``package``."""
    names: list[str] = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            names.append(target)
            # ``from alliance.simulate import _toml`` imports a private module too
            names.extend(f"{target}.{alias.name}" for alias in node.names
                         if alias.name.startswith("_") and not alias.name.startswith("__"))
    return [name for name in names if name == "alliance" or name.startswith("alliance.")]


def violations() -> set[tuple[str, str]]:
    found = set()
    for module in sorted(SOURCE.rglob("*.py")):
        own = package_of(module)
        where = module.relative_to(SOURCE).as_posix()
        for name in imported_modules(module):
            parts = name.split(".")
            target = parts[1] if len(parts) > 1 else "__init__"
            if target == own:
                continue
            upward = RANK[target] >= RANK[own] and own != "__init__"
            private = any(part.startswith("_") and not part.startswith("__")
                          for part in parts[2:])
            if upward or private:
                found.add((where, name))
    return found


def test_every_package_has_a_rank() -> None:
    packages = {package_of(module) for module in SOURCE.rglob("*.py")}
    assert packages <= set(RANK), f"give these packages a rank: {packages - set(RANK)}"


def test_imports_go_down_and_never_into_another_package_s_private_modules() -> None:
    new = violations() - KNOWN_DEBTS
    assert not new, (
        "imports of a higher or peer package, or of another package's private module "
        f"(docs/architecture.md, \"Layers\"): {sorted(new)}"
    )


def test_known_debts_are_still_debts() -> None:
    """A paid debt is removed from KNOWN_DEBTS, so that it cannot come back unnoticed."""
    paid = KNOWN_DEBTS - violations()
    assert not paid, f"no longer imported, remove from KNOWN_DEBTS: {sorted(paid)}"


def test_the_checker_sees_local_relative_and_private_imports() -> None:
    text = (
        "import numpy\n"
        "def f():\n"
        "    from alliance.report import write_report\n"
        "    from alliance.simulate import _toml\n"
        "    from . import spec\n"
        "    from ..io import read_table\n"
    )
    assert imports_in(text, "alliance.mixed") == [
        "alliance.report", "alliance.simulate", "alliance.simulate._toml", "alliance.mixed",
        "alliance.io",
    ]
