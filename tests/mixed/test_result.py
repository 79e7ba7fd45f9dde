"""MixedResult: summary text, HTML, the ``alliance fit --json`` contract, singular fits, df."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance.errors import BoundaryWarning
from alliance.mixed import MixedResult, fit

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
CONTRACT_KEYS = {
    "method", "n_obs", "groups", "loglik", "deviance", "aic", "bic", "converged", "singular",
    "fixed_effects", "random_effects", "residual_variance", "fit_seconds",
}
FIXED_KEYS = ["term", "estimate", "std_error", "df", "t", "p", "ci_low", "ci_high"]
ALLIANCE_FORMULA = "wai ~ time * (burdens + satisfactions) + (time | therapist/patient)"


def load(name: str) -> tuple[dict, pd.DataFrame]:
    case = json.loads((REFERENCE / "mixed" / f"{name}.json").read_text())
    return case, pd.read_csv(REFERENCE / "data" / case["data"])


def quiet_fit(formula: str, data: pd.DataFrame, **kwargs: object) -> MixedResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(formula, data, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def sleep() -> tuple[dict, MixedResult]:
    case, data = load("sleepstudy_corr")
    return case, quiet_fit(case["formula"], data)


def test_summary_shows_the_key_numbers(sleep):
    _, result = sleep
    text = result.summary()
    assert str(result) == text
    assert "Formula: Reaction ~ Days + (Days | Subject)" in text
    assert f"REML criterion at convergence: {result.deviance:.4f}" in text
    assert f"AIC: {result.aic:.4f}" in text and f"BIC: {result.bic:.4f}" in text
    assert "Number of obs: 180, groups: Subject, 18" in text
    for value in [*result.beta, *result.fixed_effects["std_error"]]:
        assert f"{value:.4f}" in text
    for row in result.random_effects.to_dict(orient="records"):
        if pd.isna(row["term2"]):
            assert f"{row['sdcor']:.4f}" in text
        else:
            assert f"{row['sdcor']:.3f}" in text
    assert "Warning" not in text


def test_html_has_tables(sleep):
    _, result = sleep
    page = result._repr_html_()
    assert page.startswith("<div") and page.endswith("</div>")
    assert page.count("<table") == 2 and page.count("</table>") == 2
    assert "Random effects" in page and "Fixed effects" in page
    assert f"{result.beta[1]:.4f}" in page


def test_to_dict_follows_the_json_contract(sleep):
    case, result = sleep
    payload = result.to_dict()
    assert CONTRACT_KEYS <= set(payload)
    decoded = json.loads(json.dumps(payload, allow_nan=False))
    assert decoded["method"] == "REML"
    reference = case["fits"]["REML"]
    assert decoded["n_obs"] == reference["n_obs"] == 180
    assert decoded["groups"] == {"Subject": 18}
    for key in ("loglik", "deviance", "aic", "bic"):
        assert decoded[key] == pytest.approx(reference[key], rel=1e-7), key
    assert decoded["deviance"] == pytest.approx(-2 * decoded["loglik"], rel=1e-15)
    assert decoded["converged"] is True and decoded["singular"] is False
    assert isinstance(decoded["fit_seconds"], float) and decoded["fit_seconds"] > 0
    assert decoded["residual_variance"] == pytest.approx(result.sigma**2)

    fixed = decoded["fixed_effects"]
    assert [list(row) for row in fixed] == [FIXED_KEYS] * 2
    assert [row["term"] for row in fixed] == ["(Intercept)", "Days"]
    table = result.fixed_effects
    for row, expected in zip(fixed, table.to_dict(orient="records"), strict=True):
        assert row == pytest.approx(expected)

    random = decoded["random_effects"]
    variances = [row for row in random if row["term2"] is None]
    correlations = [row for row in random if row["term2"] is not None]
    assert all(list(row) == ["group", "term1", "term2", "variance", "sd"] for row in variances)
    assert all(list(row) == ["group", "term1", "term2", "covariance", "correlation"]
               for row in correlations)
    assert [(r["group"], r["term1"]) for r in variances] == [
        ("Subject", "(Intercept)"), ("Subject", "Days"), ("Residual", None)]
    assert [(r["term1"], r["term2"]) for r in correlations] == [("(Intercept)", "Days")]
    for row in variances:
        assert row["sd"] == pytest.approx(np.sqrt(row["variance"]), rel=1e-12)
    lme4 = {(r["term1"], r["term2"]): r for r in reference["random_effects"]
            if r["group"] == "Subject"}
    assert correlations[0]["correlation"] == pytest.approx(
        lme4[("(Intercept)", "Days")]["sdcor"], rel=1e-3)


def test_singular_fit_is_reported_not_raised():
    _, data = load("dyestuff2")
    with pytest.warns(BoundaryWarning):
        result = fit("Yield ~ 1 + (1 | Batch)", data)
    assert result.singular and result.converged
    assert any("singular" in note for note in result.warnings)
    payload = result.to_dict()
    assert payload["singular"] is True
    batch = next(row for row in payload["random_effects"] if row["group"] == "Batch")
    assert batch["variance"] == pytest.approx(0.0, abs=1e-6)
    assert "Warning: boundary (singular) fit" in result.summary()
    json.dumps(payload)


def test_containment_df_of_the_alliance_model():
    """70 therapists; every coefficient is a therapist-level effect: 70 - 2 - 1 = 67."""
    _, data = load("alliance_sim_corr")
    result = quiet_fit(ALLIANCE_FORMULA, data, df_method="containment")
    assert result.groups["therapist"] == 70
    table = result.fixed_effects.set_index("term")
    expected = ["(Intercept)", "time", "burdens", "satisfactions", "time:burdens",
                "time:satisfactions"]
    assert list(table.index) == expected
    assert (table["df"] == 67).all(), table["df"]
    assert result.to_dict()["fixed_effects"][0]["df"] == 67


def test_a_result_is_a_value_that_callers_cannot_change():
    data = pd.read_csv(Path(__file__).resolve().parents[1] / "reference" / "data" / "sleepstudy.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit("Reaction ~ Days + (Days | Subject)", data)
    for values in (result.params, result.beta, result.vcov_beta, result.theta, result.fitted):
        with pytest.raises(ValueError, match="read-only"):
            values[0] = 0.0
    table = result.fixed_effects
    table.loc[0, "estimate"] = -1.0
    assert result.fixed_effects.loc[0, "estimate"] == pytest.approx(251.405105, abs=1e-5)
    variances = result.random_effects
    variances["vcov"] = 0.0
    assert (result.random_effects["vcov"] > 0).all()
    assert repr(result).startswith("<MixedResult REML 'Reaction ~ Days + (Days | Subject)'")
    assert "deviance 1743.628272, converged>" in repr(result)
    assert len(repr(result)) < 200
