"""Step 2: the two therapist factors, found in the reference sample and scored in the study.

Following Nissen-Lie et al. (2013): exploratory factor analysis of the Quality of Personal
Life items in the reference sample (parallel analysis for the number of factors; two factors
extracted, oblique rotation), reliability of each factor's items, and factor scores of the
study therapists computed with the *reference* scoring weights and standardised against the
reference sample (mean 0 and SD 1 among the reference therapists), so that an effect is per
reference-sample SD.

Naming. The EFA's factor order and signs are arbitrary. Each factor is named by the content
domain of the items that load on it: with ``S[k, d]`` the mean absolute pattern loading of
domain ``d``'s items on factor ``k``, the factors take the assignment of the two names that
maximises ``sum_k S[k, d(k)]``; each factor is then signed so that its domain's items load
positively on average. The naming is refused (SpecificationError) unless every factor loads
more on its own domain's items than on the other domain's: otherwise the data do not tell
the factors apart by content. Domains are the instrument's item notes (``satisfaction: ...``,
``burden: ...``) unless the configuration lists ``satisfaction_items`` and ``burden_items``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alliance.errors import DataError, SpecificationError
from alliance.instruments import Instrument
from alliance.scales import EFAResult, ReliabilityResult, ScoringWeights, efa, reliability
from alliance.study.config import FACTOR_NAMES, FactorConfig

#: The words that open an item note of each domain (the codebook's ``item_notes``).
DOMAIN_WORDS = {"personal_satisfactions": "satisfaction", "personal_burdens": "burden"}
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
    domains
        Items of each named factor's content domain, used for the naming.
    weights
        Reference scoring weights of the named factors.
    reference_mean, reference_sd
        Mean and SD (``ddof = 1``) of the raw factor scores in the reference sample.
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
    domains: dict[str, tuple[str, ...]]
    weights: ScoringWeights
    reference_mean: np.ndarray
    reference_sd: np.ndarray
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
                "chi_square", "df", "p", "rmsea", "rmsea_ci_low", "rmsea_ci_high", "tli", "bic"
            )},
            "reliability": {name: _reliability_dict(rel) for name, rel in
                            self.reliability.items()},
        }

    def therapist_factors_dict(self) -> dict[str, Any]:
        """The ``therapist_factors`` section of results.json."""
        scores = self.scores.dropna()
        return {
            "reference": {
                name: {"mean": float(m), "sd": float(s)}
                for name, m, s in zip(FACTOR_NAMES, self.reference_mean, self.reference_sd,
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


def codebook_domains(instrument: Instrument) -> dict[str, tuple[str, ...]]:
    """Items of each factor's domain from the instrument's item notes (``satisfaction: ...``)."""
    return {
        name: tuple(
            item for item in instrument.items
            if instrument.item_notes.get(item, "").strip().lower().startswith(word)
        )
        for name, word in DOMAIN_WORDS.items()
    }


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
        The QPL instrument (items, response range, item notes for the domains).
    config
        Extraction, rotation, correlation, scoring method, parallel-analysis draws, domains.
    seed
        Seed of the rotation's random starts and of parallel analysis.
    source
        The reference file, for messages.
    """
    items = list(instrument.items)
    domains = _domains(instrument, config)
    try:
        result = efa(
            reference.loc[:, items], len(FACTOR_NAMES), method=config.method,
            rotation=config.rotation, correlation=config.correlation, seed=seed,
            parallel=True, parallel_iter=config.parallel_iterations,
        )
    except DataError as error:
        raise DataError(f"{source}: the factor analysis of the QPL items failed: {error}") from error
    order, signs = name_factors(result.pattern, result.items, domains)
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
    raw_scores = weights.score(therapists.loc[:, items], missing="propagate")
    study = raw_scores.sub(mean, axis=1).div(sd, axis=1)
    study.index = pd.Index(therapists["therapist"].to_numpy(), name="therapist")
    return TherapistFactors(
        efa=result,
        pattern=pattern,
        phi=phi,
        domains=domains,
        weights=weights,
        reference_mean=mean,
        reference_sd=sd,
        reliability=_reliabilities(reference, result.items, pattern, instrument),
        scores=study,
    )


def name_factors(
    pattern: np.ndarray, items: tuple[str, ...], domains: dict[str, tuple[str, ...]]
) -> tuple[list[int], np.ndarray]:
    """EFA column of each of :data:`FACTOR_NAMES` and its sign (see the module docstring).

    Raises
    ------
    SpecificationError
        A factor loads at least as much on the other domain's items as on its own.
    """
    position = {item: i for i, item in enumerate(items)}
    absolute = np.abs(pattern)
    salience = np.array([
        [absolute[[position[i] for i in domains[name]], k].mean() for name in FACTOR_NAMES]
        for k in range(pattern.shape[1])
    ])
    best = max(
        itertools.permutations(range(len(FACTOR_NAMES))),
        key=lambda perm: sum(salience[perm[d], d] for d in range(len(FACTOR_NAMES))),
    )
    order = list(best)
    for d, name in enumerate(FACTOR_NAMES):
        k = order[d]
        own, other = salience[k, d], np.delete(salience[k], d).max()
        if not own > other:
            table = "; ".join(
                f"factor {j + 1}: " + ", ".join(
                    f"{n.split('_')[1]} items {salience[j, e]:.2f}"
                    for e, n in enumerate(FACTOR_NAMES)
                )
                for j in range(salience.shape[0])
            )
            raise SpecificationError(
                f"cannot tell which factor is {name}: the factors do not separate the "
                f"satisfaction items ({', '.join(domains[FACTOR_NAMES[0]])}) from the burden "
                f"items ({', '.join(domains[FACTOR_NAMES[1]])}) (mean absolute loadings {table})."
                " Check that the domains describe your items: list them in [factors] "
                "factors.satisfaction_items and burden_items."
            )
    signs = np.array([
        1.0 if pattern[[position[i] for i in domains[name]], order[d]].mean() >= 0 else -1.0
        for d, name in enumerate(FACTOR_NAMES)
    ])
    return order, signs


def _domains(instrument: Instrument, config: FactorConfig) -> dict[str, tuple[str, ...]]:
    if config.satisfaction_items is not None and config.burden_items is not None:
        domains = dict(zip(FACTOR_NAMES, (config.satisfaction_items, config.burden_items),
                           strict=True))
        unknown = sorted(set(sum(domains.values(), ())) - set(instrument.items))
        if unknown:
            raise SpecificationError(
                f"factors.satisfaction_items / burden_items name items {unknown} that are not items of {instrument.name} "
                f"({', '.join(instrument.items)}); list its item ids."
            )
        where = "factors.satisfaction_items / burden_items"
    else:
        domains = codebook_domains(instrument)
        where = f"the item notes of {instrument.name}"
    empty = [name for name, members in domains.items() if not members]
    if empty:
        raise SpecificationError(
            f"{where} give no items for {', '.join(empty)}, so the factors cannot be named; "
            "list the items of each domain in factors.satisfaction_items and burden_items."
        )
    return domains


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
