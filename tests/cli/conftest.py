"""Shared by the command-line tests."""

from __future__ import annotations

import pytest

from alliance.mixed.compile_cache import compile_kernels


@pytest.fixture(scope="session", autouse=True)
def compiled_kernels() -> None:
    """The mixed-model kernels compiled (or loaded from the cache) before any command runs.

    A command's first fit on a machine prints a notice on stderr that the kernels are being
    compiled; the tests that read stderr expect it only where they ask for it
    (test_compiling_notice.py).
    """
    compile_kernels()
