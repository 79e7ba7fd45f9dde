"""Step 2: the two therapist factors, found in the reference sample and scored in the study.

Following Nissen-Lie et al. (2013): exploratory factor analysis of the Quality of Personal
Life items in the reference sample (parallel analysis for the number of factors; two factors
extracted, oblique rotation), reliability of each factor's items, and factor scores of the
study therapists computed with the *reference* scoring weights. By default the scores are
Croon-corrected (``factors.correction = "croon"``): calibrated to the factors' own metric
(:mod:`alliance.scales.calibration`), so that an effect is per SD of the factor in the
reference population and not attenuated by the error in the scores. ``"none"`` keeps the naive
factor-score regression: scores standardised on the reference sample (mean 0, SD 1 among the
reference therapists), treated as if measured without error.

Naming. The EFA's factor order and signs are arbitrary. The factors are named only from
evidence in the configuration, marker items (``factors.satisfaction_items``,
``factors.burden_items``) or a target pattern (``factors.target``), matched to the rotated
solution by Tucker congruence (:mod:`alliance.study.naming`). The codebook's item notes are
placeholders and never name a factor: without evidence the run stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alliance.errors import DataError, SpecificationError
from alliance.instruments import Instrument
from alliance.scales import EFAResult, ReliabilityResult, ScoringWeights, efa, reliability
from alliance.scales.calibration import calibration_matrix
from alliance.study.config import FACTOR_NAMES, FactorConfig
from alliance.study.naming import TARGET_KEY, FactorNaming, NamingTarget, name_factors

#: The metric of the factor scores the models use, by correction (results.json
#: ``therapist_factors.scale``).
SCORE_SCALES = {
    "croon": (
        "factor metric (Croon-corrected): calibrated factor scores, the best linear prediction "
        "of each factor from the scores under the reference measurement model, centred on the "
        "reference sample; the factor has SD 1 in the reference population, the scores' own SD "
        "is smaller (sd); raw_mean and raw_sd are the uncalibrated scores'"
    ),
    "none": (
        "reference-standardized (naive factor-score regression): factor scores minus their "
        "mean in the reference sample, divided by their SD there (M = 0, SD = 1); raw_mean and "
        "raw_sd are the scores before standardization"
    ),
}
#: Smallest absolute loading for an item to count as one of a factor's items (reliability).
SALIENT_LOADING = 0.30


@dataclass(frozen=True)
class TherapistFactors:
    """The factor solution under its content names, and the study therapists' scores.

    Attributes
    ----------
    efa
        The factor analysis of the reference sample (factors in the EFA's own order).
    pattern, phi
        Loadings and factor correlations in the order of :data:`FACTOR_NAMES`, signed.
    naming
        How the EFA's columns were named, with the evidence (congruence, marker loadings).
    weights
        Reference scoring weights of the named factors.
    reference_mean, reference_sd
        Mean and SD (``ddof = 1``) of the raw factor scores in the reference sample.
    correction, transform
        How the raw scores ``s`` become the scores the models use, ``(s - reference_mean)
        transform``: ``"croon"`` (default), calibrated scores on the factors' own metric
        (:func:`alliance.scales.calibration.calibration_matrix`), so that effects are per SD of
        the factor in the reference population and unbiased by the error in the scores;
        ``"none"``, the naive factor-score regression, scores standardized on the reference
        sample (``diag(1 / reference_sd)``).
    reference_model_sd
        SD of the model's scores in the reference sample (1 for ``"none"``; below 1 for
        ``"croon"``, as predictions shrink towards the mean).
    reliability
        Reliability of each factor's salient items in the reference sample (None if it has
        fewer than two).
    scores
        Standardised scores of the study therapists, index ``therapist``, one column per
        factor (missing where a therapist skipped an item).
    """

    efa: EFAResult
    pattern: np.ndarray
    phi: np.ndarray
    naming: FactorNaming
    weights: ScoringWeights
    reference_mean: np.ndarray
    reference_sd: np.ndarray
    correction: str
    transform: np.ndarray
    reference_model_sd: np.ndarray
    reliability: dict[str, ReliabilityResult | None]
    scores: pd.DataFrame

    @property
    def items(self) -> tuple[str, ...]:
        return self.efa.items

    def loadings(self) -> pd.DataFrame:
        """Named, signed pattern loadings, one row per item."""
        frame = pd.DataFrame(self.pattern, index=list(self.items), columns=list(FACTOR_NAMES))
        frame.index.name = "item"
        return frame

    def variance_explained(self) -> pd.DataFrame:
        """Per factor: ``diag(Phi L'L)`` and its share of the total item variance."""
        ss = np.diag(self.phi @ self.pattern.T @ self.pattern)
        proportion = ss / len(self.items)
        return pd.DataFrame({
            "factor": list(FACTOR_NAMES),
            "ss_loadings": ss,
            "proportion": proportion,
            "cumulative": np.cumsum(proportion),
        })

    def efa_dict(self) -> dict[str, Any]:
        """The ``efa`` section of results.json."""
        result = self.efa
        parallel = result.parallel
        fit = result.fit
        return {
            "n_obs": result.n_obs,
            "items": list(self.items),
            "factor_names": list(FACTOR_NAMES),
            "naming": self.naming.to_dict(),
            "method": result.method,
            "rotation": result.rotation,
            "loadings": [
                {"item": item, **{name: float(v) for name, v in zip(FACTOR_NAMES, row,
                                                                     strict=True)}}
                for item, row in zip(self.items, self.pattern, strict=True)
            ],
            "communalities": dict(zip(self.items, map(float, result.communality), strict=True)),
            "factor_correlations": self.phi.tolist(),
            "variance_explained": self.variance_explained().to_dict(orient="records"),
            "eigenvalues": result.eigenvalues.tolist(),
            "parallel_analysis": None if parallel is None else {
                "suggested_factors": parallel.suggested_factors,
                "observed": parallel.observed_fa.tolist(),
                "simulated_mean": parallel.simulated_fa.mean(axis=0).tolist(),
                "simulated_quantile": parallel.threshold_fa.tolist(),
            },
            "fit": {key: float(getattr(fit, key)) for key in (
                "chi_square", "df", "p", "rmsea", "rmsea_ci_low", "rmsea_ci_high", "rmsea_level",
                "tli", "bic"
            )},
            "reliability": {name: _reliability_dict(rel) for name, rel in
                            self.reliability.items()},
        }

    def therapist_factors_dict(self) -> dict[str, Any]:
        """The ``therapist_factors`` section of results.json."""
        scores = self.scores.dropna()
        return {
            "correction": self.correction,
            "scale": SCORE_SCALES[self.correction],
            "reference": {
                name: {"mean": 0.0, "sd": float(model_sd), "raw_mean": float(m),
                       "raw_sd": float(s)}
                for name, m, s, model_sd in zip(FACTOR_NAMES, self.reference_mean,
                                                self.reference_sd, self.reference_model_sd,
                                                strict=True)
            },
            "study": {
                name: {
                    "mean": float(scores[name].mean()),
                    "sd": float(scores[name].std(ddof=1)),
                    "min": float(scores[name].min()),
                    "max": float(scores[name].max()),
                }
                for name in FACTOR_NAMES
            },
            "correlation": np.corrcoef(scores.to_numpy(), rowvar=False).tolist(),
        }

    def reliability_frame(self) -> pd.DataFrame:
        """One row per factor: items, alpha with its interval, omega total."""
        rows = []
        for name, rel in self.reliability.items():
            rows.append({"factor": name, **_reliability_dict(rel),
                         "items": " ".join(rel.items) if rel else ""})
        return pd.DataFrame(rows)


def therapist_factors(
    reference: pd.DataFrame,
    therapists: pd.DataFrame,
    instrument: Instrument,
    config: FactorConfig,
    seed: int,
    source: str,
) -> TherapistFactors:
    """Factor-analyse the reference sample, name the factors and score the study therapists.

    Parameters
    ----------
    reference
        QPL items of the reference sample (instrument item ids as columns).
    therapists
        ``therapist`` and the QPL items of the study therapists.
    instrument
        The QPL instrument (items, response range).
    config
        Extraction, rotation, correlation, scoring method, parallel-analysis draws, and the
        evidence for the names (marker items or a target pattern).
    seed
        Seed of the rotation's random starts and of parallel analysis.
    source
        The reference file, for messages.
    """
    items = list(instrument.items)
    target = naming_target(instrument, config)
    try:
        result = efa(
            reference.loc[:, items], len(FACTOR_NAMES), method=config.method,
            rotation=config.rotation, correlation=config.correlation, seed=seed,
            parallel=True, parallel_iter=config.parallel_iterations,
        )
    except DataError as error:
        raise DataError(f"{source}: the factor analysis of the QPL items failed: {error}") from error
    naming = name_factors(result.pattern, result.items, target, config.min_congruence)
    order, signs = list(naming.order), naming.signs
    pattern = result.pattern[:, order] * signs
    phi = result.phi[np.ix_(order, order)] * np.outer(signs, signs)
    raw = result.scoring_weights(config.scores)
    weights = ScoringWeights.from_dict({
        **raw.to_dict(),
        "factors": list(FACTOR_NAMES),
        "weights": (raw.weights[:, order] * signs).tolist(),
    })
    reference_scores = weights.score(reference.loc[:, items], missing="propagate").dropna()
    mean = reference_scores.mean().to_numpy()
    sd = reference_scores.std(ddof=1).to_numpy()
    if config.correction == "croon":
        transform = calibration_matrix(weights.weights, pattern, phi,
                                       np.cov(reference_scores.to_numpy(), rowvar=False))
    else:
        transform = np.diag(1.0 / sd)
    raw_scores = weights.score(therapists.loc[:, items], missing="propagate")
    study = pd.DataFrame((raw_scores.to_numpy() - mean) @ transform, columns=list(FACTOR_NAMES))
    study.index = pd.Index(therapists["therapist"].to_numpy(), name="therapist")
    model_sd = np.sqrt(np.diag(transform.T @ np.cov(reference_scores.to_numpy(), rowvar=False)
                               @ transform))
    return TherapistFactors(
        efa=result,
        pattern=pattern,
        phi=phi,
        naming=naming,
        weights=weights,
        reference_mean=mean,
        reference_sd=sd,
        correction=config.correction,
        transform=transform,
        reference_model_sd=model_sd,
        reliability=_reliabilities(reference, result.items, pattern, instrument),
        scores=study,
    )


def naming_target(instrument: Instrument, config: FactorConfig) -> NamingTarget:
    """The evidence for the factor names given in the configuration.

    Raises
    ------
    SpecificationError
        No evidence is given: the instrument's item notes are placeholders and name nothing.
    """
    if config.target is not None:
        return NamingTarget.from_pattern(FACTOR_NAMES, config.target)
    if config.satisfaction_items is not None and config.burden_items is not None:
        return NamingTarget.from_markers(FACTOR_NAMES,
                                         (config.satisfaction_items, config.burden_items))
    raise SpecificationError(
        "the therapist factors cannot be named: no evidence is given. An exploratory factor "
        "analysis returns factors in arbitrary order, and the item notes of "
        f"{instrument.name} are placeholders, not your codebook's content. List marker items "
        "of each factor from your codebook in factors.satisfaction_items and "
        f"factors.burden_items, or give a target loading pattern in {TARGET_KEY}."
    )


def _reliabilities(
    reference: pd.DataFrame, items: tuple[str, ...], pattern: np.ndarray, instrument: Instrument
) -> dict[str, ReliabilityResult | None]:
    """Alpha and omega of the items whose largest loading (at least 0.30) is on each factor."""
    primary = np.argmax(np.abs(pattern), axis=1)
    out: dict[str, ReliabilityResult | None] = {}
    for k, name in enumerate(FACTOR_NAMES):
        mine = [i for i, item in enumerate(items)
                if primary[i] == k and abs(pattern[i, k]) >= SALIENT_LOADING]
        if len(mine) < 2:
            out[name] = None
            continue
        out[name] = reliability(
            reference,
            [items[i] for i in mine],
            reverse=[items[i] for i in mine if pattern[i, k] < 0],
            score_range=(instrument.response_min, instrument.response_max),
        )
    return out


def _reliability_dict(result: ReliabilityResult | None) -> dict[str, Any]:
    if result is None:
        return {"alpha": None, "alpha_ci_low": None, "alpha_ci_high": None,
                "omega_total": None, "n_items": 0, "items": []}
    return {
        "alpha": result.alpha,
        "alpha_ci_low": result.ci_low,
        "alpha_ci_high": result.ci_high,
        "omega_total": result.omega_total,
        "n_items": len(result.items),
        "items": list(result.items),
    }
