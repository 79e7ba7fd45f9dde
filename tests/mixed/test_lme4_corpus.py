"""Parity corpus: alliance against lme4 on real and simulated nested data (issue 9).

The fixtures are made by ``tests/reference/lme4_corpus.R`` (see the corpus section of
tests/reference/README.md). Each model was fitted by lme4 with three optimizers (nloptwrap,
bobyqa, Nelder_Mead), REML and ML; the smallest deviance of the three is the best R optimum.

Contract:

- alliance's deviance (the REML criterion under REML) is never worse than the best R optimum
  by more than 1e-6 relative;
- where R's best fit is at least as good as ours (alliance is not lower by more than that same
  tolerance), the fixed effects agree within 1e-3 of R's standard error and sigma within
  1e-4 relative (otherwise R stopped short of the optimum and its estimates are no reference);
- the number of rows used and the group counts are lme4's, and the fixed effects are named
  (and ordered) as lme4 names them.
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance.mixed import MixedResult, fit

CORPUS = Path(__file__).resolve().parents[1] / "reference" / "corpus"
REAL_CASES = sorted(path.stem for path in (CORPUS / "real").glob("*.json"))
SIMULATED_SETS = [entry["set"] for entry in
                  json.loads((CORPUS / "simulated.json").read_text())["sets"]]
METHODS = ("REML", "ML")

DEVIANCE_RTOL = 1e-6
BETA_SE_TOL = 1e-3
SIGMA_RTOL = 1e-4


@cache
def real_case(name: str) -> dict:
    """The fixture of one real-data model."""
    return json.loads((CORPUS / "real" / f"{name}.json").read_text())


@cache
def simulated_fixtures() -> dict[int, dict]:
    """The simulated sets by number."""
    sets = json.loads((CORPUS / "simulated.json").read_text())["sets"]
    return {entry["set"]: entry for entry in sets}


@cache
def read_table(file: str, factor_columns: tuple[str, ...],
               levels: tuple[tuple[str, tuple[str, ...]], ...]) -> pd.DataFrame:
    """Read a corpus CSV: factors as text, with lme4's level order where it was recorded."""
    data = pd.read_csv(CORPUS / "data" / file, dtype=dict.fromkeys(factor_columns, str))
    for column, categories in levels:
        data[column] = pd.Categorical(data[column], categories=list(categories))
    return data


def case_data(case: dict) -> pd.DataFrame:
    """The data a real-data fixture was fitted to."""
    levels = tuple((column, tuple(values)) for column, values in case["factor_levels"].items())
    return read_table(case["data"], tuple(case["factor_columns"]), levels)


def simulated_data(entry: dict) -> pd.DataFrame:
    """The rows of one simulated set."""
    groups = ("g",) if entry["levels"] == 2 else ("therapist", "patient")
    table = read_table(entry["data"], groups, ())
    return table.loc[table["set"] == entry["set"]].reset_index(drop=True)


def fit_quietly(formula: str, data: pd.DataFrame, reml: bool) -> MixedResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(formula, data, reml=reml)


@cache
def real_fit(name: str, method: str) -> MixedResult:
    case = real_case(name)
    return fit_quietly(case["formula"], case_data(case), method == "REML")


@cache
def simulated_fit(number: int, method: str) -> MixedResult:
    entry = simulated_fixtures()[number]
    return fit_quietly(entry["formula"], simulated_data(entry), method == "REML")


def best_r_fit(reference: dict) -> dict:
    """The optimizer run with the smallest deviance."""
    return reference["optimizers"][reference["best_optimizer"]]


def relative_excess(ours: float, best: float) -> float:
    """How much worse (positive) or better (negative) our deviance is, relative to R's best."""
    return (ours - best) / abs(best)


def theta_names(result: MixedResult) -> list[str]:
    """lme4's names of the theta entries, in alliance's parameter order.

    lme4 names a diagonal entry ``<group>.<term>`` and an entry below the diagonal
    ``<group>.<row term>.<column term>``.
    """
    names = []
    for level in result.objective.layout.levels:
        for row, col in zip(level.rows, level.cols, strict=True):
            if row == col:
                names.append(f"{level.name}.{level.column_names[row]}")
            else:
                names.append(f"{level.name}.{level.column_names[row]}.{level.column_names[col]}")
    return names


def r_params(result: MixedResult, theta: dict[str, float]) -> np.ndarray:
    """R's theta as alliance's parameter vector (matched by name)."""
    names = theta_names(result)
    assert sorted(names) == sorted(theta), (names, list(theta))
    return np.array([theta[name] for name in names])


def term_key(term: str) -> str:
    """A fixed-effect name with the variables of an interaction in sorted order.

    Estimates are matched on this key, so that a difference in the order lme4 writes an
    interaction's variables is reported by ``test_real_term_names_match_lme4`` alone.
    """
    return ":".join(sorted(term.split(":")))


def check_deviance(label: str, result: MixedResult, reference: dict) -> None:
    ours = result.deviance
    best = reference["best_deviance"]
    excess = relative_excess(ours, best)
    if excess > DEVIANCE_RTOL:
        at_r = float(result.objective(r_params(result, best_r_fit(reference)["theta"])))
        pytest.fail(
            f"{label}: alliance deviance {ours:.6f} is worse than lme4's best "
            f"({reference['best_optimizer']}) {best:.6f} by {ours - best:.6g} "
            f"({excess:.3g} relative); alliance's objective at lme4's theta = {at_r:.6f}; "
            f"alliance theta {np.round(result.params, 6).tolist()}, lme4 theta "
            f"{best_r_fit(reference)['theta']}"
        )


def check_estimates(label: str, result: MixedResult, reference: dict) -> None:
    excess = relative_excess(result.deviance, reference["best_deviance"])
    if excess < -DEVIANCE_RTOL:
        pytest.skip(f"{label}: lme4's best fit is {-excess:.3g} (relative) above ours, "
                    "so its estimates are not the optimum")
    best = best_r_fit(reference)
    table = pd.DataFrame(best["fixed_effects"])
    table.index = [term_key(term) for term in table["term"]]
    ours = pd.Series(result.beta, index=[term_key(term) for term in result.spec.fixed_names])
    assert sorted(ours.index) == sorted(table.index), (label, list(ours.index), list(table.index))
    delta = (ours[table.index] - table["estimate"]).abs() / table["std_error"]
    assert delta.max() < BETA_SE_TOL, (label, delta.to_dict())
    assert result.sigma == pytest.approx(best["sigma"], rel=SIGMA_RTOL), label


def check_design(label: str, result: MixedResult, reference: dict) -> None:
    assert result.n_obs == reference["n_obs"], label
    assert sorted(result.groups.values()) == sorted(reference["groups"].values()), (
        label, result.groups, reference["groups"])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", REAL_CASES)
def test_real_deviance_not_worse_than_lme4(name: str, method: str) -> None:
    check_deviance(f"{name} {method}", real_fit(name, method), real_case(name)["fits"][method])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", REAL_CASES)
def test_real_estimates_match_lme4(name: str, method: str) -> None:
    check_estimates(f"{name} {method}", real_fit(name, method), real_case(name)["fits"][method])


@pytest.mark.parametrize("name", REAL_CASES)
def test_real_term_names_match_lme4(name: str) -> None:
    reference = real_case(name)["fits"]["REML"]["optimizers"]["nloptwrap"]
    theirs = [row["term"] for row in reference["fixed_effects"]]
    assert list(real_fit(name, "REML").spec.fixed_names) == theirs, name


@pytest.mark.parametrize("name", REAL_CASES)
def test_real_design_matches_lme4(name: str) -> None:
    check_design(name, real_fit(name, "REML"), real_case(name)["fits"]["REML"])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("number", SIMULATED_SETS)
def test_simulated_deviance_not_worse_than_lme4(number: int, method: str) -> None:
    reference = simulated_fixtures()[number]["fits"][method]
    check_deviance(f"simulated set {number} {method}", simulated_fit(number, method), reference)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("number", SIMULATED_SETS)
def test_simulated_estimates_match_lme4(number: int, method: str) -> None:
    reference = simulated_fixtures()[number]["fits"][method]
    check_estimates(f"simulated set {number} {method}", simulated_fit(number, method), reference)


@pytest.mark.parametrize("number", SIMULATED_SETS)
def test_simulated_design_matches_lme4(number: int) -> None:
    reference = simulated_fixtures()[number]["fits"]["REML"]
    check_design(f"simulated set {number}", simulated_fit(number, "REML"), reference)
