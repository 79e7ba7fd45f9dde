"""power_analysis: reproducible across workers and executors, resumable, grids, type I error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance.errors import SpecificationError
from alliance.power import REPLICATE_COLUMNS, Grid, PowerDesign, PowerResult, power_analysis

STABLE = [c for c in REPLICATE_COLUMNS if c != "fit_seconds"]


@pytest.fixture(scope="module")
def small() -> PowerDesign:
    return PowerDesign.reference().updated({"sample": {"therapists": 20}})


@pytest.fixture(scope="module")
def in_process(small: PowerDesign) -> PowerResult:
    return power_analysis(small, replicates=40, batch_size=10, workers=1, seed=7)


def _same(a: PowerResult, b: PowerResult) -> None:
    pd.testing.assert_frame_equal(a.replicates[STABLE], b.replicates[STABLE])
    pd.testing.assert_frame_equal(a.table, b.table)


def test_result_shape(in_process: PowerResult, small: PowerDesign) -> None:
    assert len(in_process.replicates) == 40 * len(small.tested)
    assert in_process.table["term"].tolist() == [e.term for e in small.tested]
    assert (in_process.table["replicates"] == 40).all()
    assert in_process.settings["executor"] == "in-process"
    payload = in_process.to_dict()
    assert payload["power"][0]["term"] == "time:personal_burdens"
    assert payload["design"] == small.to_dict()


def test_two_worker_processes_give_identical_results(
    in_process: PowerResult, small: PowerDesign
) -> None:
    pooled = power_analysis(small, replicates=40, batch_size=10, workers=2, seed=7)
    assert pooled.settings["executor"] == "processes"
    _same(in_process, pooled)


# threads share the warning filters, so a fit's recorded singularity may still be shown
@pytest.mark.filterwarnings("ignore::alliance.errors.BoundaryWarning")
@pytest.mark.filterwarnings("ignore::alliance.errors.ConvergenceWarning")
def test_dask_local_cluster_gives_identical_results(
    in_process: PowerResult, small: PowerDesign
) -> None:
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        on_dask = power_analysis(small, replicates=40, batch_size=10, scheduler=client, seed=7)
    assert on_dask.settings["executor"] == "dask"
    _same(in_process, on_dask)


def test_an_unreachable_scheduler_is_reported(small: PowerDesign) -> None:
    dask = pytest.importorskip("dask")
    pytest.importorskip("dask.distributed")
    with dask.config.set({"distributed.comm.timeouts.connect": "0.5s"}), \
            pytest.raises(SpecificationError, match="cannot reach the Dask scheduler"):
        power_analysis(small, replicates=2, scheduler="tcp://127.0.0.1:1", seed=1)


def test_an_interrupted_run_resumes_without_loss(
    in_process: PowerResult, small: PowerDesign, tmp_path: Path
) -> None:
    calls = []

    def interrupt(done: int, total: int) -> None:
        calls.append(done)
        if done >= 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        power_analysis(small, replicates=40, batch_size=10, workers=1, seed=7, out=tmp_path,
                       progress=interrupt)
    assert calls == [0, 10, 20]
    seen = []
    resumed = power_analysis(small, replicates=40, batch_size=10, workers=1, seed=7,
                             out=tmp_path, progress=lambda done, total: seen.append(done))
    assert resumed.settings["resumed_replicates"] == 20
    assert seen == [20, 30, 40]
    _same(in_process, resumed)
    with pytest.raises(SpecificationError, match="different power analysis"):
        power_analysis(small, replicates=40, workers=1, seed=8, out=tmp_path)


def test_more_replicates_extend_a_run(small: PowerDesign, tmp_path: Path) -> None:
    first = power_analysis(small, replicates=10, batch_size=5, workers=1, seed=7, out=tmp_path)
    more = power_analysis(small, replicates=20, batch_size=5, workers=1, seed=7, out=tmp_path)
    assert more.settings["resumed_replicates"] == 10
    pd.testing.assert_frame_equal(
        more.replicates[more.replicates["replicate"] < 10][STABLE].reset_index(drop=True),
        first.replicates[STABLE])


def test_explicit_null_simulation_agrees_with_the_shifted_alternative(small: PowerDesign) -> None:
    both = power_analysis(small, replicates=30, null_replicates=30, workers=1, seed=3)
    alone = power_analysis(small, replicates=30, workers=1, seed=3)
    assert (both.table["type_i_method"] == "null simulation").all()
    assert (alone.table["type_i_method"] == "shifted alternative").all()
    np.testing.assert_array_equal(both.table["type_i_error"], alone.table["type_i_error"])


def test_grid(small: PowerDesign) -> None:
    result = power_analysis(small, replicates=6, workers=1, seed=2,
                            grid=Grid("therapists", (12, 24)))
    assert result.grid_parameter == "sample.therapists"
    assert result.table["grid_value"].tolist() == [12, 12, 24, 24]
    assert result.table["therapists"].tolist() == [12, 12, 24, 24]
    curve = result.curve("time:personal_burdens")
    assert curve["grid_value"].tolist() == [12, 24]
    assert curve["analytic_power"].iloc[1] > curve["analytic_power"].iloc[0]
    with pytest.raises(SpecificationError, match=r"grid point sample\.therapists = 0"):
        Grid("therapists", (0, 10)).designs(small)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"replicates": 0}, "replicates is 0"), ({"batch_size": 0}, "batch_size"),
     ({"null_replicates": -1}, "null_replicates"), ({"workers": 0}, "workers"),
     ({"seed": -1}, "seed is -1")],
)
def test_bad_settings_are_refused(small: PowerDesign, kwargs: dict, message: str) -> None:
    with pytest.raises(SpecificationError, match=message):
        power_analysis(small, **kwargs)


@pytest.mark.slow
def test_type_i_error_with_satterthwaite_df_is_alpha() -> None:
    """Reference design, tested effects at 0: rejection rate within Monte Carlo error of 0.05."""
    data = PowerDesign.reference().to_dict()
    data.update(effects={"time:personal_burdens": 0.0, "personal_burdens": 0.0}, cohens_d={})
    design = PowerDesign.from_dict(data)
    result = power_analysis(design, replicates=800, null_replicates=0, workers=2, seed=12)
    assert (result.table["mean_df"] < 200).all()
    for row in result.table.itertuples():
        # the effects are 0, so the power is itself a null rejection rate
        for rate, trials in ((row.power, row.fitted), (row.type_i_error, row.fitted)):
            assert abs(rate - 0.05) < 3 * np.sqrt(0.05 * 0.95 / trials), (row.term, rate)
