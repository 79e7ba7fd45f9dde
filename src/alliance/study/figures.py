"""The data behind the report's figures (the report draws them; nothing is drawn here).

* observed trajectories: mean, SD and count of the alliance per rater and session;
* implied trajectories: the growth model's fixed part per rater for a therapist 1 SD below,
  at and 1 SD above the mean of one factor (other predictors at their means, i.e. 0 after
  centring), over sessions from the first to the last observed;
* forest: each factor's effect on level and growth per rater with its confidence interval;
* caterpillar: the therapists' random intercepts of each rater's null model (conditional
  modes) with ``mode +- z sqrt(conditional variance)`` intervals, ranked from lowest (rank 1);
  therapist ids only with ``show_identifiers``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import stats

from alliance.study.config import FACTOR_NAMES, RATERS
from alliance.study.models import AnalysisData, GrowthModel, NullModel, time_of

#: Points of the implied trajectories between the first and the last observed session.
TRAJECTORY_POINTS = 50
FACTOR_LEVELS = (-1, 0, 1)


def observed_trajectories(analysis: AnalysisData) -> list[dict[str, Any]]:
    """Mean, SD (``ddof = 1``; None for one observation) and count per rater and session."""
    grouped = analysis.frame.groupby(["rater", "session"])["alliance"]
    table = grouped.agg(["mean", "std", "count"]).reset_index()
    return [
        {"rater": str(rater), "session": float(session), "mean": float(mean),
         "sd": None if np.isnan(sd) else float(sd), "n": int(n)}
        for rater, session, mean, sd, n in zip(
            table["rater"], table["session"].to_numpy(float), table["mean"].to_numpy(float),
            table["std"].to_numpy(float), table["count"].to_numpy(int), strict=True
        )
    ]


def implied_trajectories(
    growth: Mapping[str, GrowthModel], analysis: AnalysisData, coding: str
) -> list[dict[str, Any]]:
    """The fixed part of each rater's growth model at factor levels -1, 0 and +1 SD."""
    sessions = analysis.frame["session"].to_numpy()
    grid = np.unique(np.round(np.linspace(sessions.min(), sessions.max(), TRAJECTORY_POINTS)))
    time = time_of(grid, coding)
    rows = []
    for rater in RATERS:
        estimate = growth[rater].fit.fixed_effects.set_index("term")["estimate"]
        for factor in FACTOR_NAMES:
            for level in FACTOR_LEVELS:
                curve = (estimate["(Intercept)"] + estimate["time"] * time
                         + level * (estimate[factor] + estimate[f"time:{factor}"] * time))
                rows += [
                    {"rater": rater, "factor": factor, "factor_level": level,
                     "session": float(s), "alliance": float(a)}
                    for s, a in zip(grid, curve, strict=True)
                ]
    return rows


def forest(growth: Mapping[str, GrowthModel]) -> list[dict[str, Any]]:
    """Each factor's effect on level (``x``) and growth (``time:x``), per rater."""
    rows = []
    for rater in RATERS:
        table = growth[rater].fit.fixed_effects.set_index("term")
        for outcome, prefix in (("level", ""), ("growth", "time:")):
            for factor in FACTOR_NAMES:
                values = table.loc[f"{prefix}{factor}", ["estimate", "ci_low", "ci_high"]]
                estimate, low, high = np.asarray(values, dtype=float)
                rows.append({"rater": rater, "outcome": outcome, "factor": factor,
                             "estimate": float(estimate), "ci_low": float(low),
                             "ci_high": float(high)})
    return rows


def caterpillar(
    null: Mapping[str, NullModel], confidence: float, show_identifiers: bool
) -> dict[str, list[dict[str, Any]]]:
    """Ranked therapist random intercepts of each rater's null model."""
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    out = {}
    for rater in RATERS:
        modes = null[rater].fit.ranef(condvar=True)["therapist"]
        estimate = modes["(Intercept)"].to_numpy(dtype=float)
        half = z * np.sqrt(modes["var((Intercept))"].to_numpy(dtype=float))
        labels = modes.index.astype(str).to_numpy()
        order = np.lexsort((labels, estimate))
        rows = []
        for rank, j in enumerate(order, start=1):
            entry: dict[str, Any] = {"rank": rank, "estimate": float(estimate[j]),
                                     "ci_low": float(estimate[j] - half[j]),
                                     "ci_high": float(estimate[j] + half[j])}
            if show_identifiers:
                entry["therapist"] = str(labels[j])
            rows.append(entry)
        out[rater] = rows
    return out
