"""One compiled entry point serves every model and every caller: a first fit compiles it once."""

from __future__ import annotations

import warnings
from pathlib import Path

import numba
import pandas as pd

from alliance.mixed import engine, fit
from alliance.mixed.kernels import SERIAL, backward_pass, forward_pass

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


def serial_versions(dispatcher) -> int:
    """Compiled versions of ``dispatcher`` for the serial passes."""
    marker = numba.typeof(SERIAL)
    return sum(1 for signature in dispatcher.signatures if signature[0] == marker)


def test_every_model_and_every_caller_share_one_compiled_version():
    for data, formula, strata in MODELS:
        for reml in (True, False):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = fit(formula, pd.read_csv(DATA / data), reml=reml,
                             residual_groups=strata)
            assert len(result.fixed_effects) > 0  # Satterthwaite df: both passes from Python
            result.ranef()
    # one version each, whatever the depth of nesting, q, strata or criterion, and whoever
    # asks (search, result, Satterthwaite, conditional modes): a second one would add tens
    # of seconds to the first fit on a new installation
    assert serial_versions(engine.run) == 1
    # the passes are compiled as its callees only (none when it came from the disk cache):
    # nothing calls them from Python
    assert serial_versions(forward_pass) <= 1
    assert serial_versions(backward_pass) <= 1
