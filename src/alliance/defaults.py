"""Default values that the command line shows in its help, defined once for every layer.

This module imports nothing but the standard library, so that ``alliance --help`` can show the
defaults without loading the layers that use them; those layers import the values from here.
"""

from __future__ import annotations

from pathlib import Path

#: Seed of a simulated study (the reference study's year).
SIMULATION_SEED = 2013
#: Seed of a power analysis (the reference study's year).
POWER_SEED = 2013
#: Seed of the random rotation starts and of parallel analysis in factor analysis.
FACTOR_ANALYSIS_SEED = 20240501
#: Output folder of a study run (``alliance replicate``, ``alliance analyze``).
STUDY_OUT = Path("alliance-report")
