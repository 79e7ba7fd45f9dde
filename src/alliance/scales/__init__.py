"""scales layer: exploratory factor analysis, factor scores, parallel analysis, reliability.

Pure computation (DataFrames in, immutable results out), checked against psych / GPArotation.
"""

from alliance.scales.analysis_input import CorrelationInput, correlation_input
from alliance.scales.bivariate_normal import bivariate_normal_cdf
from alliance.scales.efa import EFAFitInfo, EFAResult, efa
from alliance.scales.extraction import Extraction, extract
from alliance.scales.fit_indices import FitIndices, degrees_of_freedom, fit_indices, max_factors
from alliance.scales.items import ItemData, prepare_items
from alliance.scales.parallel import ParallelAnalysis, parallel_analysis
from alliance.scales.polychoric import PolychoricResult, polychoric
from alliance.scales.reliability import ReliabilityResult, reliability
from alliance.scales.rotation import Rotation, rotate
from alliance.scales.scores import ScoringWeights, score_weights

__all__ = [
    "CorrelationInput",
    "EFAFitInfo",
    "EFAResult",
    "Extraction",
    "FitIndices",
    "ItemData",
    "ParallelAnalysis",
    "PolychoricResult",
    "ReliabilityResult",
    "Rotation",
    "ScoringWeights",
    "bivariate_normal_cdf",
    "correlation_input",
    "degrees_of_freedom",
    "efa",
    "extract",
    "fit_indices",
    "max_factors",
    "parallel_analysis",
    "polychoric",
    "prepare_items",
    "reliability",
    "rotate",
    "score_weights",
]
