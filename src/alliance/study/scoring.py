"""Step 1: score the WAI per administration and rater, and check the QPL items.

The alliance of an administration is the instrument's total score (for the WAI-SR, the mean
of the 12 items on the 1-5 metric, prorated when at most two items are missing: see
:func:`alliance.instruments.score`). An administration with more missing items has no score
and is excluded from the models; the count is reported. The QPL items are scored with their
codebook only to count missing responses (the factors come from the factor analysis).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alliance.instruments import ScoreResult, score
from alliance.study.config import RATERS
from alliance.study.load import StudyData

#: Columns of :attr:`ScoredStudy.alliance`.
ALLIANCE_COLUMNS = ("rater", "patient", "therapist", "session", "alliance")


@dataclass(frozen=True)
class ScoredStudy:
    """Scored administrations and what scoring left out.

    Attributes
    ----------
    alliance
        One row per scored administration: rater, patient, therapist, session, alliance.
    wai
        The :class:`~alliance.instruments.ScoreResult` of each rater.
    qpl_reference, qpl_study
        QPL scoring of the reference sample and the study therapists.
    excluded
        ``{step, rows, reason}`` per rater with administrations without a score.
    """

    alliance: pd.DataFrame
    wai: dict[str, ScoreResult]
    qpl_reference: ScoreResult
    qpl_study: ScoreResult
    excluded: tuple[dict[str, Any], ...]

    def n_scored(self, rater: str) -> int:
        """Administrations of ``rater`` with a score."""
        return int((self.alliance["rater"] == rater).sum())

    def n_prorated(self, rater: str) -> int:
        """Scored administrations of ``rater`` with at least one item missing."""
        scores = self.wai[rater].scores
        return int((scores["total"].notna() & (scores["total_n_missing"] > 0)).sum())

    def n_missing_score(self, rater: str) -> int:
        """Administrations of ``rater`` without a score (too many items missing)."""
        return int(self.wai[rater].scores["total"].isna().sum())

    def to_dict(self) -> dict[str, Any]:
        """The ``scoring`` section of results.json."""
        return {
            "wai": {
                "instrument": {r: self.wai[r].instrument.name for r in RATERS},
                "n_scored": {r: self.n_scored(r) for r in RATERS},
                "n_prorated": {r: self.n_prorated(r) for r in RATERS},
                "n_missing_score": {r: self.n_missing_score(r) for r in RATERS},
            },
            "qpl": {
                "instrument": self.qpl_study.instrument.name,
                "n_reference": self.qpl_reference.n_administrations,
                "n_study": self.qpl_study.n_administrations,
                "n_cells_missing": self.qpl_reference.n_missing_cells
                + self.qpl_study.n_missing_cells,
            },
        }


def score_study(data: StudyData) -> ScoredStudy:
    """Score every administration of both raters and check the QPL items.

    Responses were range-checked when the data were read (:mod:`alliance.study.load`), so
    scoring here cannot fail on the data.
    """
    frames = []
    results: dict[str, ScoreResult] = {}
    excluded = []
    for rater in RATERS:
        rater_data = data.wai[rater]
        instrument = rater_data.instrument
        frame = rater_data.frame
        result = score(
            frame.loc[:, ["patient", "session", *instrument.items]],
            instrument,
            id_columns=["patient", "session"],
        )
        results[rater] = result
        total = result.scores["total"].to_numpy(dtype=float)
        scored = ~np.isnan(total)
        if (~scored).any():
            excluded.append({
                "step": "scoring",
                "rows": int((~scored).sum()),
                "reason": f"{rater}-rated WAI administrations without a total score (more "
                f"than {instrument.total_max_missing} of {len(instrument.items)} items missing, "
                "or not completed)",
            })
        frames.append(pd.DataFrame({
            "rater": rater,
            "patient": frame["patient"].to_numpy()[scored],
            "therapist": frame["therapist"].to_numpy()[scored],
            "session": frame["session"].to_numpy(dtype=float)[scored],
            "alliance": total[scored],
        }))
    items = list(data.qpl.items)
    return ScoredStudy(
        alliance=pd.concat(frames, ignore_index=True).loc[:, list(ALLIANCE_COLUMNS)],
        wai=results,
        qpl_reference=score(data.reference.loc[:, items], data.qpl),
        qpl_study=score(data.therapists.loc[:, ["therapist", *items]], data.qpl,
                        id_columns=["therapist"]),
        excluded=tuple(excluded),
    )
