"""Where the compiled kernels are kept on disk, so that only the first fit compiles them.

numba caches a compiled function beside its source (``__pycache__``) or, where that folder
cannot be written (a regular install into a read-only site-packages), in the user's cache
folder (``$XDG_CACHE_HOME/numba``, usually ``~/.cache/numba``). Where neither can be written
(a service account or a container without a writable home), numba refuses to define the
function at all and importing the engine fails. :func:`configure` then points numba at a
folder of this user in the temporary directory instead. A folder chosen by the user
(``NUMBA_CACHE_DIR``) is always kept.

The first fit on a machine compiles the kernels (tens of seconds); :func:`kernels_cached`
tells beforehand whether the cache already holds them, so that the command line can say why
the wait, and :func:`compile_kernels` compiles them at a moment of the caller's choosing.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

#: The package folder whose ``__pycache__`` numba tries first.
PACKAGE_DIR = Path(__file__).resolve().parent
#: The small model :func:`compile_kernels` fits: two nested levels, each with a random slope.
WARM_UP_FORMULA = "y ~ time + (time | therapist/patient)"


def _writable(folder: Path) -> bool:
    """Whether ``folder`` exists or can be made, and a file can be created in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _user_cache_dir() -> Path:
    """numba's user-wide cache folder on this platform (its ``UserWideCacheLocator``)."""
    from numba.misc.appdirs import AppDirs

    return Path(AppDirs(appname="numba", appauthor=False).user_cache_dir)


def fallback_dir() -> Path:
    """The folder used when neither of numba's own places can be written."""
    return Path(tempfile.gettempdir()) / f"alliance-numba-{os.getuid()}"


def configure(
    package_dir: Path = PACKAGE_DIR, user_cache_dir: Path | None = None
) -> Path | None:
    """Point numba at a writable cache folder if its own places are not; returns it.

    Returns None when numba's own choice stands (a writable ``__pycache__`` or user cache,
    or ``NUMBA_CACHE_DIR`` set by the user).
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    user = _user_cache_dir() if user_cache_dir is None else user_cache_dir
    if _writable(package_dir / "__pycache__") or _writable(user):
        return None
    chosen = fallback_dir()
    if not _writable(chosen):
        return None  # nothing writable at all: numba says so when it defines the kernels
    os.environ["NUMBA_CACHE_DIR"] = str(chosen)
    from numba.core import config

    config.reload_config()
    return chosen


CHOSEN_DIR = configure()


def kernels_cached() -> bool | None:
    """Whether numba's disk cache holds the compiled kernels for this machine.

    Reads the cache index of the entry point :func:`alliance.mixed.search.bfgs`, which every
    fit compiles or loads (the kernels it calls are compiled into it): the kernels are cached
    when the index holds a version compiled from the current source, for this CPU, whose data
    file is present. The index is read through numba's internal caching API (numba 0.68,
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
        from numba.core.registry import cpu_target

        from alliance.mixed.search import bfgs

        dispatcher: Any = bfgs  # a numba Dispatcher; its cache is outside numba's typed API
        cache = dispatcher._cache
        folder = Path(cache.cache_path)
        index = cache._cache_file._load_index()
        codegen = cpu_target.target_context.codegen()
        return any(
            cache._index_key(key[0], codegen) == key and (folder / name).is_file()
            for key, name in index.items()
        )
    except Exception:  # numba's internals differ from the version this was written for
        return None


def compile_kernels() -> None:
    """Compile the kernels now, or load them from the cache: fit :data:`WARM_UP_FORMULA`.

    For a caller whose first real fit would compile them at an awkward moment: inside a
    progress display, or in several worker processes at once. The model is fitted to a small
    simulated data set (8 therapists, 3 patients each, 4 sessions each); its result is not
    kept.
    """
    import warnings

    import numpy as np
    import pandas as pd

    from alliance.mixed.fit import fit

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
        fit(WARM_UP_FORMULA, frame)
