"""The power table from replicate rows; Wilson intervals against R's prop.test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alliance.power import SUMMARY_COLUMNS, PowerDesign, wilson_interval
from alliance.power.analytic import AnalyticPower
from alliance.power.summary import summarise

# R: prop.test(x, n, correct = FALSE)$conf.int (R 4.x, stats)
R_WILSON = [
    (80, 100, 0.711170834406841, 0.866633066668967),
    (0, 50, 0.0, 0.071347599133359),
    (50, 50, 0.928652400866641, 1.0),
    (3, 1000, 0.001020783881139, 0.008783014053503),
]


@pytest.mark.parametrize(("successes", "trials", "low", "high"), R_WILSON)
def test_wilson_interval_matches_r(successes: int, trials: int, low: float, high: float) -> None:
    assert wilson_interval(successes, trials) == pytest.approx((low, high), abs=1e-12)


def test_summary_counts_and_rates() -> None:
    design = PowerDesign.reference().updated({"cohens_d": {}, "effects": {
        "time:personal_burdens": -0.05, "time:personal_satisfactions": 0.0}})
    effects = [e.term for e in design.tested]
    rows = []
    # 10 replicates: 7 significant, one failed, one with undefined df (p NaN)
    for r in range(10):
        for term, truth in zip(effects, (-0.05, 0.0), strict=True):
            failed = r == 9
            p = np.nan if failed or r == 8 else (0.01 if r < 7 else 0.5)
            estimate = np.nan if failed else truth + (0.01 if r % 2 else -0.01)
            covered = not failed and r != 0
            rows.append({
                "point": 0, "hypothesis": "alternative", "replicate": r, "term": term,
                "true_value": truth, "estimate": estimate, "std_error": 0.01, "df": 50.0,
                "t": estimate / 0.01, "p": p, "ci_low": estimate - 0.02,
                "ci_high": estimate + 0.02, "significant": bool(p < 0.05), "covered": covered,
                "converged": r != 3, "singular": r < 4, "failed": failed,
                "error": "LinAlgError" if failed else "", "n_obs": 600, "n_patients": 220,
                "fit_seconds": 0.01,
            })
    analytic = tuple(AnalyticPower(t, 0.01, 0.9, "x", 0) for t in effects)
    table = summarise(pd.DataFrame(rows), [design], [analytic], [None])
    assert list(table.columns) == SUMMARY_COLUMNS
    burdens = table.iloc[0]
    assert burdens["replicates"] == 10 and burdens["fitted"] == 8 and burdens["failed"] == 1
    assert burdens["singular"] == 4 and burdens["not_converged"] == 1
    assert burdens["power"] == pytest.approx(7 / 8)
    assert (burdens["power_ci_low"], burdens["power_ci_high"]) == pytest.approx(
        wilson_interval(7, 8))
    assert burdens["coverage"] == pytest.approx(7 / 8)
    assert burdens["type_i_error"] == pytest.approx(1 / 8)
    assert burdens["type_i_method"] == "shifted alternative"
    assert burdens["bias"] == pytest.approx(0.0)
    assert burdens["rmse"] == pytest.approx(0.01)
    assert np.isnan(table.iloc[1]["relative_bias"])
