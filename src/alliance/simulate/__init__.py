"""Data-generating models: a therapist population and a three-level alliance study.

``simulate_study(design, seed)`` returns the raw data of a study of the design of
Nissen-Lie et al. (2013) with the truth behind them; ``write_study`` saves them to a folder.
"""

from alliance.simulate.design import StudyDesign
from alliance.simulate.design_alliance import (
    RANDOM_TERMS,
    RATERS,
    AllianceModel,
    RandomEffects,
    RaterModel,
)
from alliance.simulate.design_measures import MissingDesign, QplModel, WaiModel
from alliance.simulate.design_sample import (
    CovariateDesign,
    SampleDesign,
    ScheduleDesign,
    TreatmentDesign,
)
from alliance.simulate.study import DEFAULT_SEED, STREAMS, SimulatedStudy, simulate_study
from alliance.simulate.write import write_study

__all__ = [
    "DEFAULT_SEED",
    "RANDOM_TERMS",
    "RATERS",
    "STREAMS",
    "AllianceModel",
    "CovariateDesign",
    "MissingDesign",
    "QplModel",
    "RandomEffects",
    "RaterModel",
    "SampleDesign",
    "ScheduleDesign",
    "SimulatedStudy",
    "StudyDesign",
    "TreatmentDesign",
    "WaiModel",
    "simulate_study",
    "write_study",
]
