"""The compiled kernels: a cache folder per version of the engine's sources, always writable."""

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


def test_the_cache_folder_is_named_after_the_engine_sources(numba_settings, tmp_path):
    chosen = compile_cache.configure(compile_cache.PACKAGE_DIR, tmp_path / "user-cache")
    assert chosen == tmp_path / "user-cache" / f"kernels-{compile_cache.engine_fingerprint()}"
    assert os.environ["NUMBA_CACHE_DIR"] == str(chosen)
    assert config.CACHE_DIR == str(chosen)
    assert chosen.is_dir()


def test_a_changed_compiled_source_changes_the_folder(tmp_path):
    # the entry point has the kernels of other files compiled into it: numba alone would
    # keep its cached version when only kernels.py changed
    engine = tmp_path / "engine"
    engine.mkdir()
    (engine / "engine.py").write_text("from numba import njit\ndef run(): ...\n")
    (engine / "kernels.py").write_text("import numba\ndef kernel(): return 1\n")
    (engine / "result.py").write_text("def table(): return 1\n")
    before = compile_cache.engine_fingerprint(engine)
    assert compile_cache.engine_fingerprint(engine) == before
    (engine / "result.py").write_text("def table(): return 2\n")
    assert compile_cache.engine_fingerprint(engine) == before  # no compiled code in it
    (engine / "kernels.py").write_text("import numba\ndef kernel(): return 2\n")
    assert compile_cache.engine_fingerprint(engine) != before


def test_without_a_writable_home_the_temporary_folder_is_used(numba_settings, tmp_path):
    chosen = compile_cache.configure(compile_cache.PACKAGE_DIR, unwritable(tmp_path))
    assert chosen == compile_cache.fallback_dir() / f"kernels-{compile_cache.engine_fingerprint()}"
    assert config.CACHE_DIR == str(chosen)


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
    monkeypatch.setattr("alliance.mixed.engine.run", never_compiled)
    assert compile_cache.kernels_cached() is False


def test_a_cache_that_cannot_be_read_is_unknown(monkeypatch):
    monkeypatch.setattr("alliance.mixed.engine.run", object())
    assert compile_cache.kernels_cached() is None


def test_the_threaded_version_can_be_compiled_beforehand(monkeypatch):
    from numba import typeof

    from alliance.mixed import engine, objective
    from alliance.mixed.kernels import THREADED

    monkeypatch.setattr(objective, "_THREADS", 2)
    compile_cache.compile_kernels(threaded=True)
    assert any(signature[0] == typeof(THREADED) for signature in engine.run.signatures)
    assert objective.PARALLEL_MIN_GROUPS == 20_000  # restored


def test_each_kind_of_model_finds_its_own_kernels_in_the_cache(monkeypatch):
    compile_cache.compile_kernels((2, 2))
    compile_cache.compile_kernels((1, 1))
    # growth models, and every other model (random intercepts, mixed q, q = 4)
    for q_per_level in [(2, 2), (2,), (1, 1), (2, 1), (4, 4)]:
        assert compile_cache.kernels_cached(q_per_level) is True
    # a version never compiled is not taken for one that is
    monkeypatch.setattr("alliance.mixed.kernels.blocks_marker", lambda q_per_level: (0, 0, 0))
    assert compile_cache.kernels_cached((2, 2)) is False
