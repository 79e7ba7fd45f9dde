"""How the process running a whole study manages its memory: freed memory goes back to the
system, and long-lived objects leave the garbage collector's rounds.

glibc's allocator serves a block of at least ``M_MMAP_THRESHOLD`` bytes with its own mapping,
returned to the system when freed. The threshold starts at 128 KiB but rises, after such a
block is freed, up to 32 MiB (glibc's "dynamic mmap threshold", ``mallopt(3)``). A study run
allocates and frees many arrays of a few MiB to a few tens of MiB (model matrices, per-group
cross-products, the buffers of each deviance evaluation); once the threshold has risen they
come from the heap, where freed space is kept for reuse and the resident size only grows:
at practice-network size (222,000 administrations) the peak was 1,068 MiB, against 975 MiB
with the threshold fixed at 256 KiB, at no measurable cost in time.

Python's cyclic garbage collector walks every tracked object in its oldest generation at
each full collection. After the compiled kernels are loaded that is a few million objects
(numba's type registries among them), and a study's later steps, the report's figures most
of all, create enough short-lived objects to trigger full collections: 0.6 s of a
practice-network run went to them. :func:`freeze_survivors` at the start of each step moves
the objects alive then out of the collections' reach (``gc.freeze``); they are still freed by
reference counting, only cycles among them wait until the process ends.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys

#: ``mallopt``'s parameter number of the mmap threshold (glibc's malloc.h).
M_MMAP_THRESHOLD = -3
#: Blocks of at least this many bytes get their own mapping, released when freed.
MMAP_THRESHOLD_BYTES = 256 * 1024


def return_large_blocks_promptly() -> bool:
    """Fix glibc's mmap threshold at :data:`MMAP_THRESHOLD_BYTES` (see the module docstring).

    Returns True when the allocator accepted it; False elsewhere (not Linux, another C
    library), where nothing is changed.
    """
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


def freeze_survivors() -> None:
    """Leave every object alive now out of later garbage collections (module docstring).

    For a process that ends with its run (the command line): a cycle among these objects
    that becomes garbage is only reclaimed at exit.
    """
    gc.freeze()
