"""One compiled entry point serves every model and every caller: a first fit compiles it once."""

from __future__ import annotations

import warnings
from pathlib import Path

import numba
import pandas as pd

from alliance.mixed import engine, fit
from alliance.mixed.kernels import (
    ANY_Q,
    INTERCEPT_AND_SLOPE,
    SERIAL,
    backward_pass,
    blocks_marker,
    forward_pass,
)

DATA = Path(__file__).resolve().parents[1] / "reference" / "data"

MODELS = [
    ("sleepstudy.csv", "Reaction ~ Days + (Days | Subject)", None),
    ("sleepstudy.csv", "Reaction ~ Days + (Days || Subject)", None),
    ("pastes.csv", "strength ~ 1 + (1 | batch/cask)", None),
    ("pixel.csv", "pixel ~ day + I(day^2) + (day | Dog) + (1 | Side:Dog)", None),
    ("orthodont.csv", "distance ~ age + Sex + (age | Subject)", "Sex"),
    ("joint_rater_sim.csv", "wai ~ 0 + rater + rater:time + (0 + rater | therapist/patient)",
     "rater"),
]


def serial_versions(dispatcher, blocks=None) -> int:
    """Compiled versions of ``dispatcher`` for the serial passes (with these ``blocks``)."""
    marker = numba.typeof(SERIAL)
    return sum(1 for signature in dispatcher.signatures if signature[0] == marker
               and (blocks is None or signature[1] == numba.typeof(blocks)))


def test_every_model_and_every_caller_share_one_compiled_version():
    for data, formula, strata in MODELS:
        for reml in (True, False):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = fit(formula, pd.read_csv(DATA / data), reml=reml,
                             residual_groups=strata)
            assert len(result.fixed_effects) > 0  # Satterthwaite df: both passes from Python
            result.ranef()
            # whoever asks (search, result, Satterthwaite, conditional modes), a model runs
            # the one version of its kind: a random intercept and slope at every level, or not
            q_per_level = [level.q for level in result.spec.levels]
            assert serial_versions(engine.run, blocks_marker(q_per_level)) == 1, formula
    # one version per kind, whatever the depth of nesting, q, strata or criterion: another
    # one would add tens of seconds to a first fit on a new installation
    assert serial_versions(engine.run, INTERCEPT_AND_SLOPE) == 1
    assert serial_versions(engine.run, ANY_Q) == 1
    assert serial_versions(engine.run) == 2
    # the passes are compiled as its callees only (none when it came from the disk cache):
    # nothing calls them from Python
    assert serial_versions(forward_pass) <= 2
    assert serial_versions(backward_pass) <= 2


def test_only_models_with_a_random_intercept_and_slope_at_every_level_run_the_unrolled_kernels():
    assert blocks_marker([2]) == blocks_marker([2, 2, 2]) == INTERCEPT_AND_SLOPE
    for q_per_level in ([1], [2, 1], [1, 2], [4, 4], [3], [2, 4]):
        assert blocks_marker(q_per_level) == ANY_Q
