"""Planning and running batches: lazily, whatever the number of replicates asked for."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from alliance.errors import SpecificationError
from alliance.power import PowerDesign, power_analysis
from alliance.power.budget import Budget
from alliance.power.execute import plan_tasks


def test_the_plan_is_lazy() -> None:
    design = PowerDesign.reference()
    plan = plan_tasks([(0, "alternative", design, range(10**12))], seed=1, batch_size=25)
    first, second = itertools.islice(plan, 2)
    assert first.replicates == tuple(range(25)) and second.replicates[0] == 25


def test_batches_keep_their_ids_and_end_with_the_rest() -> None:
    design = PowerDesign.reference()
    plan = list(plan_tasks([(0, "alternative", design, [0, 2, 3]), (1, "null", design, [7])],
                           seed=1, batch_size=2))
    assert [(t.point, t.hypothesis, t.replicates) for t in plan] == [
        (0, "alternative", (0, 2)), (0, "alternative", (3,)), (1, "null", (7,))]


def test_a_run_too_large_is_refused_with_the_estimate() -> None:
    budget = Budget(fits=10**9, seconds_per_fit=0.02, workers=2, rows=2 * 10**9)
    with pytest.raises(SpecificationError, match=r"1,000,000,000 fits at about 20 ms each on 2 "
                       r"worker\(s\): about 116 days.*--allow-large"):
        budget.check(allow_large=False)
    budget.check(allow_large=True)
    Budget(fits=1000, seconds_per_fit=0.02, workers=2, rows=2000).check(allow_large=False)


def test_power_analysis_refuses_before_anything_is_written(tmp_path: Path) -> None:
    design = PowerDesign.reference().updated({"sample": {"therapists": 12}})
    with pytest.raises(SpecificationError, match="--allow-large"):
        power_analysis(design, replicates=2**31 - 1, workers=1, out=tmp_path / "run")
    assert not (tmp_path / "run").exists()
