"""instruments layer: questionnaires as data files, and scoring."""

from alliance.instruments.catalog import list_instruments, load_instrument
from alliance.instruments.instrument import Instrument, Subscale, instrument_from_dict
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
