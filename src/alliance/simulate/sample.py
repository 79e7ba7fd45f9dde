"""The study sample's structure: caseloads, treatment lengths and covariates."""

from __future__ import annotations

import numpy as np

from alliance.simulate.design_sample import SampleDesign, TreatmentDesign


def allocate_caseloads(design: SampleDesign, rng: np.random.Generator) -> np.ndarray:
    """Number of patients of each therapist.

    Every therapist first gets ``min_caseload`` patients. The rest are shared out by
    multinomial draws with probabilities proportional to Gamma(``caseload_shape``, 1)
    propensities, among the therapists still below ``max_caseload``; draws above a cap are
    handed out again until none are left. The caseloads add up to ``n_patients`` exactly and
    respect both bounds (the design guarantees that this is possible).
    """
    propensity = rng.gamma(design.caseload_shape, 1.0, size=design.n_therapists)
    counts = np.full(design.n_therapists, design.min_caseload, dtype=np.int64)
    remaining = design.n_patients - int(counts.sum())
    while remaining > 0:
        capacity = design.max_caseload - counts
        weights = np.where(capacity > 0, propensity, 0.0)
        if weights.sum() <= 0.0:  # tiny shapes: the propensities left underflowed to 0
            weights = (capacity > 0).astype(float)
        added = np.minimum(rng.multinomial(remaining, weights / weights.sum()), capacity)
        counts += added
        remaining -= int(added.sum())
    return counts


def draw_treatment_lengths(
    design: TreatmentDesign, rng: np.random.Generator, count: int
) -> np.ndarray:
    """Sessions per treatment: rounded log-normal, clipped to [min_sessions, max_sessions]."""
    raw = design.median_sessions * np.exp(design.log_sd * rng.standard_normal(count))
    return np.clip(np.rint(raw), design.min_sessions, design.max_sessions).astype(np.int64)


def draw_gamma(mean: float, sd: float, rng: np.random.Generator, count: int) -> np.ndarray:
    """Gamma draws with the given mean and SD (shape ``(mean/sd)^2``); constant when ``sd = 0``."""
    if sd == 0.0:
        return np.full(count, mean)
    shape = (mean / sd) ** 2
    return rng.gamma(shape, sd**2 / mean, size=count)
