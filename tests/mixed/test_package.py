"""The package's public names: each one resolves, and importing the package stays light."""

from __future__ import annotations

import subprocess
import sys

import alliance.mixed


def test_every_public_name_resolves_to_its_definition():
    import alliance.mixed.r_squared  # noqa: F401  (a module of the same name as a function)

    for name in alliance.mixed.__all__:
        value = getattr(alliance.mixed, name)
        assert getattr(value, "__name__", name) == name


def test_fit_stays_the_function_after_its_module_is_imported():
    code = (
        "from alliance.mixed.fit import fit_spec\n"
        "from alliance.mixed.predict import predict as direct\n"
        "from alliance.mixed import fit, predict\n"
        "assert callable(fit) and fit.__module__ == 'alliance.mixed.fit'\n"
        "assert predict is direct\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_fit_does_not_import_the_bootstrap_comparisons_or_intervals():
    code = (
        "import sys\n"
        "from alliance.mixed import fit\n"
        "heavy = [m for m in ('alliance.mixed.bootstrap', 'alliance.mixed.compare',\n"
        "         'alliance.mixed.intervals', 'alliance.mixed.marginal') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                          text=True)
    assert done.stdout.strip() == ""


def test_an_unknown_name_is_an_attribute_error():
    try:
        alliance.mixed.no_such_name  # noqa: B018
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("an unknown name resolved")
