"""Where the compiled kernels are kept on disk, so that only the first fit compiles them.

numba caches a compiled function beside its source (``__pycache__``) or, where that folder
cannot be written (a regular install into a read-only site-packages), in the user's cache
folder (``$XDG_CACHE_HOME/numba``, usually ``~/.cache/numba``). Where neither can be written
(a service account or a container without a writable home), numba refuses to define the
function at all and importing the engine fails. :func:`configure` then points numba at a
folder of this user in the temporary directory instead. A folder chosen by the user
(``NUMBA_CACHE_DIR``) is always kept.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

#: The package folder whose ``__pycache__`` numba tries first.
PACKAGE_DIR = Path(__file__).resolve().parent


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
