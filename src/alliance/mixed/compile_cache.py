"""Where the compiled kernels are kept on disk, so that only the first fit compiles them.

numba caches each compiled function in a folder of its own choosing (beside its source, or
in the user's cache folder) and throws a cached version away only when that function's own
source file changes. The engine's one compiled entry point (:func:`alliance.mixed.engine.run`)
has the kernels of other modules compiled into it, so after an upgrade that changed only
``kernels.py`` numba would keep running the old kernels. :func:`configure` therefore gives
numba a cache folder named after a fingerprint of every source file of the engine that uses
numba: a changed kernel compiles anew, an unchanged one loads (and a change to the engine's
pure-Python modules keeps the compiled kernels). The folder is in the user's cache folder
(``$XDG_CACHE_HOME/alliance``, usually ``~/.cache/alliance``), or, where that cannot be written
(a service account or a container without a writable home, where numba would otherwise refuse
to define the kernels and importing the engine would fail), in the temporary directory. A
folder chosen by the user (``NUMBA_CACHE_DIR``) is always kept.

The first fit on a machine compiles the kernels (tens of seconds); :func:`kernels_cached`
tells beforehand whether the cache already holds them, so that the command line can say why
the wait, and :func:`compile_kernels` compiles them at a moment of the caller's choosing.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: The engine's source folder: every compiled function is defined in one of its files.
PACKAGE_DIR = Path(__file__).resolve().parent
#: The small models :func:`compile_kernels` fits: two nested levels, each with a random
#: intercept and slope (the kernels of growth models), or each with a random intercept (the
#: kernels of every other model).
WARM_UP_FORMULA = "y ~ time + (time | therapist/patient)"
WARM_UP_FORMULA_ANY_Q = "y ~ time + (1 | therapist/patient)"
#: Random effects per level of a growth model: the default of the functions below.
GROWTH_MODEL_Q = (2, 2)


def _writable(folder: Path) -> bool:
    """Whether ``folder`` exists or can be made, and a file can be created in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _user_cache_dir() -> Path:
    """This platform's cache folder of the user for alliance (as numba finds its own)."""
    from numba.misc.appdirs import AppDirs

    return Path(AppDirs(appname="alliance", appauthor=False).user_cache_dir)


def fallback_dir() -> Path:
    """The base folder used when the user's cache folder cannot be written."""
    return Path(tempfile.gettempdir()) / f"alliance-{os.getuid()}"


def compiled_sources(package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """The engine's source files that use numba: the only ones whose change changes the kernels.

    Editing a pure-Python module of the engine (the result, the formula reader, inference)
    keeps the compiled kernels; editing one that defines or dispatches compiled code does not.
    """
    return [path for path in sorted(package_dir.glob("*.py"))
            if b"from numba" in path.read_bytes() or b"import numba" in path.read_bytes()]


def engine_fingerprint(package_dir: Path = PACKAGE_DIR) -> str:
    """A hash of the names and contents of :func:`compiled_sources` (16 hex digits)."""
    digest = hashlib.sha256()
    for path in compiled_sources(package_dir):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def configure(
    package_dir: Path = PACKAGE_DIR, user_cache_dir: Path | None = None
) -> Path | None:
    """Point numba at the cache folder of this engine's sources; returns it.

    ``kernels-<fingerprint>`` in the user's cache folder, or in :func:`fallback_dir` when
    that cannot be written. Returns None when ``NUMBA_CACHE_DIR`` was set by the user, or
    when nothing can be written (numba then says so when it defines the kernels).
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    name = f"kernels-{engine_fingerprint(package_dir)}"
    user = _user_cache_dir() if user_cache_dir is None else user_cache_dir
    for base in (user, fallback_dir()):
        chosen = base / name
        if _writable(chosen):
            os.environ["NUMBA_CACHE_DIR"] = str(chosen)
            from numba.core import config

            config.reload_config()
            return chosen
    return None


CHOSEN_DIR = configure()


def kernels_cached(q_per_level: Sequence[int] = GROWTH_MODEL_Q) -> bool | None:
    """Whether numba's disk cache holds the compiled kernels a model needs on this machine.

    Reads the cache index of the entry point :func:`alliance.mixed.engine.run`, which every
    fit compiles or loads (the kernels it calls are compiled into it): the kernels are cached
    when the index holds a version for the model's kernels
    (:func:`alliance.mixed.kernels.blocks_marker` of ``q_per_level``, the random effects per
    level), compiled from the current source, for this CPU, whose data file is present. The
    index is read through numba's internal caching API (numba 0.68,
    ``numba.core.caching.FunctionCache``); numba discards an index written for another numba
    version or an older source, and so does this check.

    Returns
    -------
    bool or None
        True when cached (a fit loads the kernels in about a second), False when not (the
        first fit compiles them), None when the check cannot be made (another numba, no
        cache): then they may have to be compiled.
    """
    try:
        from numba import typeof
        from numba.core.registry import cpu_target

        from alliance.mixed.engine import run
        from alliance.mixed.kernels import blocks_marker

        marker = typeof(blocks_marker(q_per_level))

        dispatcher: Any = run  # a numba Dispatcher; its cache is outside numba's typed API
        cache = dispatcher._cache
        folder = Path(cache.cache_path)
        index = cache._cache_file._load_index()
        codegen = cpu_target.target_context.codegen()
        return any(
            key[0][1] == marker and cache._index_key(key[0], codegen) == key
            and (folder / name).is_file()
            for key, name in index.items()
        )
    except Exception:  # numba's internals differ from the version this was written for
        return None


def compile_kernels(
    q_per_level: Sequence[int] = GROWTH_MODEL_Q, threaded: bool = False
) -> None:
    """Compile the kernels a model needs now, or load them from the cache.

    For a caller whose first real fit would compile them at an awkward moment: inside a
    progress display, or in several worker processes at once. A model with ``q_per_level``
    random effects per level runs the kernels of :data:`WARM_UP_FORMULA` when every level has
    two (:func:`alliance.mixed.kernels.blocks_marker`), otherwise those of
    :data:`WARM_UP_FORMULA_ANY_Q`; that model is fitted to a small simulated data set (8
    therapists, 3 patients each, 4 sessions each) and its result is not kept. With
    ``threaded`` (and more than one thread), the version of the entry point that splits large
    levels over threads is compiled or loaded too: the one data with a level of at least
    ``PARALLEL_MIN_GROUPS`` groups use.
    """
    import warnings

    import numpy as np
    import pandas as pd

    from alliance.mixed.fit import fit
    from alliance.mixed.kernels import INTERCEPT_AND_SLOPE, blocks_marker

    rng = np.random.default_rng(0)
    patients_per_therapist, sessions = 3, 4
    patient = np.repeat(np.arange(8 * patients_per_therapist), sessions)
    therapist = patient // patients_per_therapist
    time = np.tile(np.arange(sessions, dtype=float), patient.max() + 1)

    def effect(groups: np.ndarray, sd: float) -> np.ndarray:
        return rng.normal(0.0, sd, groups.max() + 1)[groups]

    level = effect(therapist, 1.0) + effect(patient, 1.0)
    slope = 0.5 + effect(therapist, 0.3) + effect(patient, 0.3)
    frame = pd.DataFrame({"y": level + slope * time + rng.normal(0.0, 0.5, time.size),
                          "time": time, "therapist": therapist, "patient": patient})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a singular fit compiles the same kernels
        growth = blocks_marker(q_per_level) == INTERCEPT_AND_SLOPE
        formula = WARM_UP_FORMULA if growth else WARM_UP_FORMULA_ANY_Q
        fit(formula, frame)
        if threaded:
            from alliance.mixed import objective

            smallest = objective.PARALLEL_MIN_GROUPS
            objective.PARALLEL_MIN_GROUPS = 1  # every level "large": the threaded version
            try:
                fit(formula, frame)
            finally:
                objective.PARALLEL_MIN_GROUPS = smallest
