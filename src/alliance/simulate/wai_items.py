"""WAI item responses from the latent alliance, and missing responses.

Item ``k`` of one administration: ``y*_k = intercepts[k] + loadings[k] * alliance + e_k``,
``e_k ~ N(0, residual_sd[k]^2)``, cut at the thresholds (:class:`~alliance.simulate.
design_measures.WaiModel`). Missingness is completely at random
(:class:`~alliance.simulate.design_measures.MissingDesign`).
"""

from __future__ import annotations

import numpy as np

from alliance.simulate.design_measures import MissingDesign, WaiModel
from alliance.simulate.ordinal import discretise


def draw_wai_responses(
    model: WaiModel, alliance: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Ordinal responses (administrations x raters x items) for ``alliance`` (adm. x raters)."""
    noise = rng.standard_normal((*alliance.shape, model.n_items))
    latent = (
        np.asarray(model.intercepts, dtype=float)
        + np.asarray(model.loadings, dtype=float) * alliance[..., None]
        + np.asarray(model.residual_sd, dtype=float) * noise
    )
    return discretise(latent, model.thresholds, model.scale_min)


def draw_missing(
    design: MissingDesign, shape: tuple[int, int, int], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Masks of missing administrations (adm. x raters) and missing items (adm. x raters x items).

    Raters are in :data:`~alliance.simulate.design_alliance.RATERS` order. The item mask
    covers whole missing administrations as well.
    """
    rates = np.array([design.patient_administration, design.therapist_administration])
    administration = rng.random(shape[:2]) < rates
    item = rng.random(shape) < design.item
    return administration, item | administration[..., None]
