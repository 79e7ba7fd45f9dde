"""The compiled kernels get a writable cache folder even where numba's own are read-only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from numba import njit
from numba.core import config

from alliance.mixed import compile_cache


@pytest.fixture
def numba_settings(monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    yield
    monkeypatch.undo()
    config.reload_config()


def unwritable(tmp_path: Path) -> Path:
    """A place no one can create a folder in (below a regular file), even as root."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    return blocker / "cache"


def test_a_read_only_install_without_a_writable_home_uses_a_temporary_folder(
    numba_settings, tmp_path
):
    chosen = compile_cache.configure(unwritable(tmp_path), unwritable(tmp_path))
    assert chosen == compile_cache.fallback_dir()
    assert os.environ["NUMBA_CACHE_DIR"] == str(chosen)
    assert config.CACHE_DIR == str(chosen)
    assert chosen.is_dir()


def test_numbas_own_places_are_kept_when_writable(numba_settings, tmp_path):
    assert compile_cache.configure(tmp_path / "package", unwritable(tmp_path)) is None
    assert compile_cache.configure(unwritable(tmp_path), tmp_path / "user-cache") is None
    assert "NUMBA_CACHE_DIR" not in os.environ


def test_a_folder_chosen_by_the_user_is_kept(numba_settings, monkeypatch, tmp_path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert compile_cache.configure(unwritable(tmp_path), unwritable(tmp_path)) is None
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "mine")


@njit(cache=True)
def never_compiled(x):  # pragma: no cover
    return x


def test_the_kernels_are_cached_once_compiled():
    compile_cache.compile_kernels()
    assert compile_cache.kernels_cached() is True


def test_an_entry_point_never_compiled_is_not_cached(monkeypatch):
    monkeypatch.setattr("alliance.mixed.search.bfgs", never_compiled)
    assert compile_cache.kernels_cached() is False


def test_a_cache_that_cannot_be_read_is_unknown(monkeypatch):
    monkeypatch.setattr("alliance.mixed.search.bfgs", object())
    assert compile_cache.kernels_cached() is None
