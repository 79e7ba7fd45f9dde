"""Measurement models of the two questionnaires and of missing responses.

Sections ``[qpl]`` (DPCCQ Quality of Personal Life items), ``[wai]`` (Working Alliance
Inventory, short form) and ``[missing]`` of a design file; src/alliance/simulate/
default_study.toml documents every value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alliance.errors import SpecificationError
from alliance.io import value_checks as check

#: Names a therapist factor may not take: they are other terms of the alliance model.
RESERVED_NAMES = frozenset({"time", "experience", "severity"})


def _check_scale(scale_min: int, scale_max: int, thresholds: tuple[float, ...]) -> None:
    if scale_max <= scale_min:
        raise SpecificationError(
            f"scale_max is {scale_max}, but it must be greater than scale_min ({scale_min})."
        )
    check.same_length(
        thresholds,
        scale_max - scale_min,
        "thresholds",
        f"a {scale_min}–{scale_max} scale has {scale_max - scale_min + 1} categories, "
        "separated by one threshold fewer.",
    )
    check.strictly_increasing(thresholds, "thresholds")


def _item_names(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{index}" for index in range(1, count + 1))


@dataclass(frozen=True)
class QplModel:
    """Ordinal factor model of the DPCCQ Quality of Personal Life items.

    Latent response of item ``k``: ``y*_k = intercepts[k] + sum_f loadings[k][f] F_f + e_k``
    with factors ``F ~ N(0, factor_correlation)`` and ``e_k ~ N(0, 1 - communality_k)``, so
    that every ``y*_k`` has unit variance beyond its intercept and the loadings are standardised
    (the loadings of an EFA of the polychoric correlations). The observed response is
    ``scale_min`` plus the number of ``thresholds`` below ``y*_k``.
    """

    item_prefix: str
    scale_min: int
    scale_max: int
    factors: tuple[str, ...]
    factor_correlation: tuple[tuple[float, ...], ...]
    loadings: tuple[tuple[float, ...], ...]
    intercepts: tuple[float, ...]
    thresholds: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.factors:
            raise SpecificationError("factors is empty; name at least one therapist factor.")
        for name in self.factors:
            if not name.isidentifier() or name in RESERVED_NAMES:
                raise SpecificationError(
                    f"factors contains {name!r}, which cannot be a model term; use a name of "
                    "letters, digits and underscores other than "
                    f"{', '.join(sorted(RESERVED_NAMES))}."
                )
        if len(set(self.factors)) != len(self.factors):
            raise SpecificationError(f"factors {list(self.factors)!r} repeats a name.")
        n_factors = len(self.factors)
        check.correlation_matrix(self.factor_correlation, n_factors, "factor_correlation")
        if not self.loadings:
            raise SpecificationError("loadings is empty; give one row of loadings per item.")
        for index, row in enumerate(self.loadings):
            check.same_length(row, n_factors, f"loadings[{index}]", "give one loading per factor.")
        check.same_length(
            self.intercepts, self.n_items, "intercepts", "give one intercept per item."
        )
        _check_scale(self.scale_min, self.scale_max, self.thresholds)
        unique = self.unique_variances
        negative = np.flatnonzero(unique <= 0)
        if negative.size:
            index = int(negative[0])
            raise SpecificationError(
                f"loadings[{index}] implies a unique variance of {unique[index]:.4g} for item "
                f"{self.items[index]}: its loadings explain all or more than all of its "
                "variance, and a variance cannot be negative; make its loadings smaller."
            )

    @property
    def n_items(self) -> int:
        """Number of items."""
        return len(self.loadings)

    @property
    def items(self) -> tuple[str, ...]:
        """Item names ``<prefix>1`` .. ``<prefix>K``."""
        return _item_names(self.item_prefix, self.n_items)

    @property
    def loading_matrix(self) -> np.ndarray:
        """Loadings as an items x factors array."""
        return np.asarray(self.loadings, dtype=float)

    @property
    def correlation_matrix(self) -> np.ndarray:
        """Factor correlations as a factors x factors array."""
        return np.asarray(self.factor_correlation, dtype=float)

    @property
    def unique_variances(self) -> np.ndarray:
        """``1 - diag(L Phi L')``: the variance of each latent response not due to the factors."""
        loadings = self.loading_matrix
        communality = np.einsum("kf,fg,kg->k", loadings, self.correlation_matrix, loadings)
        return 1.0 - communality


@dataclass(frozen=True)
class WaiModel:
    """Graded items of the WAI short form, driven by the latent alliance of one administration.

    Latent response of item ``k``: ``y*_k = intercepts[k] + loadings[k] * alliance + e_k``,
    ``e_k ~ N(0, residual_sd[k]^2)``, independent across items; the observed response is
    ``scale_min`` plus the number of ``thresholds`` below ``y*_k``. With thresholds halfway
    between the categories (1.5, 2.5, 3.5, 4.5 on a 1–5 scale) this rounds ``y*_k`` to the
    nearest category and clips it to the scale, so that the expected item response equals
    ``y*_k`` except near the ends of the scale (see :mod:`alliance.simulate.truth`).
    """

    item_prefix: str
    scale_min: int
    scale_max: int
    intercepts: tuple[float, ...]
    loadings: tuple[float, ...]
    residual_sd: tuple[float, ...]
    thresholds: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.loadings:
            raise SpecificationError("loadings is empty; give one loading per WAI item.")
        for name in ("intercepts", "residual_sd"):
            check.same_length(
                getattr(self, name),
                self.n_items,
                name,
                "give one value per item (as many as loadings).",
            )
        for index, loading in enumerate(self.loadings):
            check.positive(loading, f"loadings[{index}]", "loading on the alliance")
        for index, sd in enumerate(self.residual_sd):
            check.non_negative(sd, f"residual_sd[{index}]")
        _check_scale(self.scale_min, self.scale_max, self.thresholds)

    @property
    def n_items(self) -> int:
        """Number of items."""
        return len(self.loadings)

    @property
    def items(self) -> tuple[str, ...]:
        """Item names ``<prefix>1`` .. ``<prefix>K``."""
        return _item_names(self.item_prefix, self.n_items)

    @property
    def mean_intercept(self) -> float:
        """Mean item intercept: the intercept of the mean score on the latent alliance."""
        return float(np.mean(self.intercepts))

    @property
    def mean_loading(self) -> float:
        """Mean item loading: the slope of the mean score on the latent alliance."""
        return float(np.mean(self.loadings))


@dataclass(frozen=True)
class MissingDesign:
    """Missing responses, completely at random.

    Each scheduled administration is missing (all items) with probability
    ``patient_administration`` or ``therapist_administration``, independently for the two
    raters; within a completed administration each item is missing with probability ``item``.
    """

    patient_administration: float
    therapist_administration: float
    item: float

    def __post_init__(self) -> None:
        check.probability(self.patient_administration, "patient_administration")
        check.probability(self.therapist_administration, "therapist_administration")
        check.probability(self.item, "item")
