"""The study of Nissen-Lie et al. (2013) as a pipeline: configuration and data in, results out.

``run_study(config)`` composes the layers below (instruments, scales, mixed) into
:class:`StudyResults`; :mod:`alliance.app` runs it into an output folder with the report.
"""

from alliance.study.config import FACTOR_NAMES, RATERS, StudyConfig
from alliance.study.config_reader import (
    config_from_dict,
    example_config,
    example_config_text,
    load_config,
)
from alliance.study.load import StudyData, load_study
from alliance.study.pipeline import STEPS, Progress, run_study
from alliance.study.study_results import StudyResults

__all__ = [
    "FACTOR_NAMES",
    "RATERS",
    "STEPS",
    "Progress",
    "StudyConfig",
    "StudyData",
    "StudyResults",
    "config_from_dict",
    "example_config",
    "example_config_text",
    "load_config",
    "load_study",
    "run_study",
]
