"""alliance.app.memory: the allocator hands large freed blocks back at once."""

from __future__ import annotations

import subprocess
import sys

import pytest

from alliance.app import memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_large_arrays_leave_the_resident_memory() -> None:
    """Allocate and free 40 arrays of 8 MiB (with small ones between them that stay) after one
    of 16 MiB was freed, which raises glibc's dynamic threshold above 8 MiB: with the threshold
    fixed, the resident size falls back."""
    program = """
import importlib.util, sys, numpy as np
# the module alone (its package would import pandas and the layers, whose own allocations
# change where the allocator stands)
spec = importlib.util.spec_from_file_location("memory", sys.argv[2])
memory = importlib.util.module_from_spec(spec)
spec.loader.exec_module(memory)
def resident():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
if sys.argv[1] == "fixed":
    assert memory.return_large_blocks_promptly()
big = np.ones(2 * 2**20); del big
before = resident()
blocks, pins = [], []
for _ in range(40):  # small arrays between the blocks keep the heap from shrinking at its top
    blocks.append(np.ones(2**20))
    pins.append(np.ones(1000))
del blocks
print(resident() - before)
"""
    kept = {
        mode: float(subprocess.run([sys.executable, "-c", program, mode, memory.__file__],
                                   check=True, capture_output=True, text=True).stdout)
        for mode in ("dynamic", "fixed")
    }
    assert kept["dynamic"] > 200  # glibc kept the 320 MiB freed (the test is not vacuous)
    assert kept["fixed"] < 20


def test_it_says_whether_the_allocator_took_it() -> None:
    assert memory.return_large_blocks_promptly() is sys.platform.startswith("linux")


def test_survivors_leave_the_garbage_collections() -> None:
    """Objects alive at a step are frozen (out of every later collection's walk)."""
    import gc

    before = gc.get_freeze_count()
    alive = [[index] for index in range(1000)]
    try:
        memory.freeze_survivors()
        assert gc.get_freeze_count() >= before + len(alive)
        assert gc.collect() >= 0 and alive[-1] == [999]
    finally:
        gc.unfreeze()
