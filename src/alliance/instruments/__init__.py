"""instruments layer: questionnaires as data files, and scoring.

Scoring (pandas) is imported when first used, so that the catalogue and the definitions can be
read without it (``alliance score --help`` lists the shipped instruments).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alliance.instruments.catalog import list_instruments, load_instrument
from alliance.instruments.instrument import Instrument, Subscale, instrument_from_dict

if TYPE_CHECKING:
    from alliance.instruments.scoring import ScoreResult, score

__all__ = [
    "Instrument",
    "ScoreResult",
    "Subscale",
    "instrument_from_dict",
    "list_instruments",
    "load_instrument",
    "score",
]


def __getattr__(name: str) -> Any:
    if name in ("ScoreResult", "score"):
        from alliance.instruments import scoring

        return getattr(scoring, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
