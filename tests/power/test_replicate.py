"""Replicates: seeds independent of batching, the null identity, failures counted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alliance.power import REPLICATE_COLUMNS, PowerDesign, Task, replicate_rng, run_task
from alliance.power import replicate as replicate_module


@pytest.fixture(scope="module")
def small() -> PowerDesign:
    return PowerDesign.reference().updated({"sample": {"therapists": 20}})


def test_replicate_streams_are_spawned_seed_sequences() -> None:
    spawned = np.random.SeedSequence(42).spawn(3)[2].spawn(10)[7]
    expected = np.random.default_rng(spawned).standard_normal(5)
    np.testing.assert_array_equal(replicate_rng(42, 2, 7).standard_normal(5), expected)


def test_rows_do_not_depend_on_the_batch(small: PowerDesign) -> None:
    whole = run_task(Task(0, "alternative", small, (0, 1, 2, 3), 9))
    part = run_task(Task(0, "alternative", small, (2, 3), 9))
    assert list(whole.columns) == REPLICATE_COLUMNS
    assert len(whole) == 4 * len(small.tested)
    columns = [c for c in REPLICATE_COLUMNS if c != "fit_seconds"]
    pd.testing.assert_frame_equal(
        whole[whole["replicate"] >= 2][columns].reset_index(drop=True), part[columns])


def test_the_null_is_the_shifted_alternative(small: PowerDesign) -> None:
    """REML is invariant to the fixed part: null fits = alternative fits shifted by the effect."""
    ids = tuple(range(12))
    alternative = run_task(Task(0, "alternative", small, ids, 3))
    null = run_task(Task(0, "null", small, ids, 3))
    # the two fits stop within the optimizer's tolerance of the same optimum, which moves the
    # estimates by about 1e-6 standard errors and the standard errors in the sixth to the
    # thirteenth digit (largest relative difference on seeds 3 to 6: 1.9e-6; median 1.6e-13)
    shifted = alternative["estimate"] - alternative["true_value"]
    assert (np.abs(null["estimate"] - shifted) <= 1e-5 * alternative["std_error"]).all()
    np.testing.assert_allclose(null["std_error"], alternative["std_error"], rtol=1e-5)
    np.testing.assert_allclose(null["df"], alternative["df"], rtol=1e-5)
    assert (null["true_value"] == 0).all()
    # rejecting the null <=> the 1 - alpha interval of the alternative misses the truth
    np.testing.assert_array_equal(null["significant"], ~alternative["covered"])


def test_a_failed_fit_is_counted_not_dropped(
    small: PowerDesign, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = replicate_module.fit_spec
    calls = {"n": 0}

    def flaky(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise np.linalg.LinAlgError("X'V^-1 X is not positive definite")
        return real(*args, **kwargs)

    monkeypatch.setattr(replicate_module, "fit_spec", flaky)
    rows = run_task(Task(0, "alternative", small, (0, 1, 2), 1))
    failed = rows[rows["failed"]]
    assert failed["replicate"].unique().tolist() == [1]
    assert failed["error"].str.contains("LinAlgError").all()
    assert failed["estimate"].isna().all() and not failed["significant"].any()
    assert rows[~rows["failed"]]["p"].notna().all()


@pytest.mark.parametrize("method", ["containment", "residual", "kenward-roger", "z"])
def test_tests_use_the_df_and_standard_errors_of_the_engine(
    small: PowerDesign, method: str
) -> None:
    """A replicate's test is the engine's fixed-effects table row (the same fit, the same SE and
    df): Kenward-Roger tests use the adjusted SEs; z tests the model-based SEs and no df."""
    from alliance.mixed import fit_spec
    from alliance.power.generate import draw_layout, draw_response
    from alliance.power.model import ModelBuilder

    design = small.updated({"df_method": method})
    builder = ModelBuilder(design)
    rng = replicate_rng(5, 0, 0)
    layout = draw_layout(design, rng)
    y = draw_response(design, layout, design.fixed_effects(null=False), rng)
    spec = builder.spec(layout, y)
    columns = [spec.fixed_names.index(effect.term) for effect in design.tested]
    tests = replicate_module.fit_and_test(spec, columns, method, design.alpha)
    engine = "satterthwaite" if method == "z" else method
    table = fit_spec(spec, reml=True, df_method=engine).fixed_effects.iloc[columns]
    np.testing.assert_allclose(tests.std_error, table["std_error"], rtol=1e-6)
    if method == "z":
        assert np.isinf(tests.df).all()
    else:
        np.testing.assert_allclose(tests.df, table["df"], rtol=1e-5)
        np.testing.assert_allclose(tests.p, table["p"], rtol=1e-5)
