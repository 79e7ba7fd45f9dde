"""Thresholding latent responses into ordinal categories."""

from __future__ import annotations

import numpy as np

from alliance.simulate.ordinal import discretise


def test_categories_count_the_thresholds_below() -> None:
    latent = np.array([-9.0, 1.49, 1.5, 1.51, 2.5, 3.2, 4.5, 4.51, 9.0])
    categories = discretise(latent, (1.5, 2.5, 3.5, 4.5), scale_min=1)
    assert categories.tolist() == [1, 1, 1, 2, 2, 3, 4, 5, 5]


def test_midpoint_thresholds_round_to_the_nearest_category() -> None:
    latent = np.linspace(0.6, 5.4, 97) + 1e-9
    expected = np.clip(np.round(latent), 1, 5)
    assert np.array_equal(discretise(latent, (1.5, 2.5, 3.5, 4.5), 1), expected)


def test_shape_is_kept() -> None:
    latent = np.zeros((3, 2, 4))
    assert discretise(latent, (-1.0, 1.0), 0).shape == (3, 2, 4)
    assert np.all(discretise(latent, (-1.0, 1.0), 0) == 1)
