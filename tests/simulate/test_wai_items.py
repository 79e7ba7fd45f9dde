"""WAI item responses from the latent alliance; missing responses."""

from __future__ import annotations

import numpy as np
import pytest

from alliance.simulate import MissingDesign, StudyDesign
from alliance.simulate.wai_items import draw_missing, draw_wai_responses


def test_mean_item_score_is_nearly_unbiased_inside_the_scale() -> None:
    model = StudyDesign.default().wai
    rng = np.random.default_rng(4)
    for level in (2.2, 3.0, 3.37, 3.8):
        # At one fixed alliance value rounding leaves a periodic bias of at most about 0.012
        # with the default item noise (exact value at 2.2: -0.0116).
        alliance = np.full((20_000, 2), level)
        responses = draw_wai_responses(model, alliance, rng)
        assert responses.shape == (20_000, 2, 12)
        assert responses.mean() == pytest.approx(level, abs=0.016)
    # Over a spread of alliance values it averages out.
    alliance = rng.normal(3.37, 0.4, size=(40_000, 2))
    assert draw_wai_responses(model, alliance, rng).mean() == pytest.approx(3.37, abs=0.004)


def test_ceiling_attenuates_near_the_top_of_the_scale() -> None:
    model = StudyDesign.default().wai
    responses = draw_wai_responses(model, np.full((20_000, 2), 4.8), np.random.default_rng(4))
    # Exact expectation 4.761: clipping at 5 pulls the mean score below the alliance.
    assert responses.max() == 5 and 4.74 < responses.mean() < 4.78


def test_missing_masks_follow_the_rates() -> None:
    design = MissingDesign(patient_administration=0.1, therapist_administration=0.3, item=0.05)
    administration, item = draw_missing(design, (50_000, 2, 12), np.random.default_rng(9))
    assert administration.mean(axis=0) == pytest.approx([0.1, 0.3], abs=0.01)
    assert np.all(item[administration])
    completed = item[~administration]
    assert completed.mean() == pytest.approx(0.05, abs=0.003)
