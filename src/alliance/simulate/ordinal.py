"""Ordinal responses from latent responses by thresholds (the graded-response link)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def discretise(latent: np.ndarray, thresholds: Sequence[float], scale_min: int) -> np.ndarray:
    """Category of each latent response: ``scale_min`` + number of thresholds below it.

    A latent value equal to a threshold falls in the lower category. With thresholds
    ``(1.5, 2.5, 3.5, 4.5)`` and ``scale_min = 1`` this is rounding to the nearest of 1..5,
    clipped to the scale.
    """
    bounds = np.asarray(thresholds, dtype=float)
    return np.searchsorted(bounds, latent, side="left").astype(np.int64) + scale_min
