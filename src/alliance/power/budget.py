"""What a power analysis will cost, and a refusal of work that cannot fit, before it starts.

The time is the number of fits still to run times the time of one fit of the design's template
study (measured in this process, kernels loaded), divided by the workers; the memory is that
of the replicate table the summary needs at the end (one row per replicate per tested effect,
:data:`~alliance.power.replicate.REPLICATE_COLUMNS`, about :data:`BYTES_PER_ROW` bytes each in
pandas). A run expected to take longer than :data:`MAX_HOURS` or to need more than half of the
machine's memory is refused unless it is asked for explicitly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from alliance.errors import SpecificationError

#: Longest run accepted without being asked for explicitly.
MAX_HOURS = 24.0
#: Memory of one replicate row in the in-memory table (21 columns, strings included).
BYTES_PER_ROW = 400


@dataclass(frozen=True)
class Budget:
    """The expected cost of the fits still to run.

    Attributes
    ----------
    fits : int
        Studies to simulate and fit.
    seconds_per_fit : float
        Time of one fit of the template study.
    workers : int
        Processes fitting at once.
    rows : int
        Rows of the replicate table at the end (stored ones included).
    """

    fits: int
    seconds_per_fit: float
    workers: int
    rows: int

    @property
    def hours(self) -> float:
        return self.fits * self.seconds_per_fit / self.workers / 3600.0

    @property
    def memory_bytes(self) -> int:
        return self.rows * BYTES_PER_ROW

    def describe(self) -> str:
        return (f"{self.fits:,} fits at about {self.seconds_per_fit * 1000:.0f} ms each on "
                f"{self.workers} worker(s): about {_duration(self.hours)}, and about "
                f"{_size(self.memory_bytes)} of memory for the {self.rows:,} result rows")

    def check(self, allow_large: bool) -> None:
        """Refuse a run over :data:`MAX_HOURS` or half the machine's memory.

        Raises
        ------
        SpecificationError
            With the estimate and the remedies, unless ``allow_large``.
        """
        if allow_large:
            return
        memory = _machine_memory()
        too_long = self.hours > MAX_HOURS
        too_big = memory is not None and self.memory_bytes > memory / 2
        if not (too_long or too_big):
            return
        limit = (f"more than {MAX_HOURS:g} hours" if too_long else
                 f"more than half of this machine's {_size(memory or 0)} of memory")
        raise SpecificationError(
            f"this power analysis would take {self.describe()}: {limit}. Ask for fewer "
            "replicates (--replications), a smaller grid or more workers, or pass "
            "--allow-large to run it anyway."
        )


def _machine_memory() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not on Linux
        return None


def _duration(hours: float) -> str:
    if hours >= 48:
        return f"{hours / 24:,.0f} days"
    if hours >= 1:
        return f"{hours:.1f} hours"
    return f"{hours * 60:.1f} minutes"


def _size(size: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1000:
            return f"{size:.0f} {unit}"
        size /= 1000
    return f"{size:,.0f} TB"
