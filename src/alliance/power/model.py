"""The analysis model of a design, and its :class:`~alliance.mixed.MixedModelSpec` for each replicate.

The model fitted to every simulated study is the generating model (as powerlmm and simr fit
it)::

    alliance ~ time * (x1 + ... + xK) + (time | therapist) + (time | therapist:patient)

where a random term whose true SD is 0 is left out (``(1 | g)`` or ``(0 + time | g)`` when
only the slope or only the intercept varies; no term when neither does), as powerlmm builds its
lme4 formula from the non-zero parameters.

Building a MixedModelSpec with :func:`alliance.mixed.build_spec` (formula parsing, formulaic model
matrices, validation) costs about 15 ms, more than half a fit; the design fixes the formula, so
:class:`ModelBuilder` validates it once on a template study with ``build_spec`` and builds the
spec of every replicate with :func:`alliance.mixed.spec.rebuild_spec` from the replicate's
columns (the same arrays as ``build_spec`` on the replicate's data frame, checked by
tests/power/test_model.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alliance.errors import SpecificationError
from alliance.mixed import MixedModelSpec, build_spec
from alliance.mixed.parameters import ParameterLayout
from alliance.mixed.spec import rebuild_spec
from alliance.power.design import PowerDesign
from alliance.power.generate import Layout, draw_layout, draw_response

#: Seed of the template study on which the formula is validated once per design.
TEMPLATE_SEED = 0


def _random_term(sd: tuple[float, float], group: str) -> str | None:
    intercept, slope = sd[0] > 0, sd[1] > 0
    if intercept and slope:
        return f"(time | {group})"
    if intercept:
        return f"(1 | {group})"
    if slope:
        return f"(0 + time | {group})"
    return None


def _random_terms(design: PowerDesign) -> dict[str, str]:
    """Random term of each level with a non-zero SD, innermost level (patients) first."""
    terms = {
        "patient": _random_term(design.variance.patient_sd, "therapist:patient"),
        "therapist": _random_term(design.variance.therapist_sd, "therapist"),
    }
    return {level: term for level, term in terms.items() if term is not None}


def random_effects_per_level(design: PowerDesign) -> tuple[int, ...]:
    """Random effects of each level of the model (innermost first): which kernels it runs."""
    return tuple(2 if term.startswith("(time |") else 1 for term in _random_terms(design).values())


def model_formula(design: PowerDesign) -> str:
    """The lme4 formula fitted to every replicate (module docstring)."""
    fixed = f"alliance ~ time * ({' + '.join(design.predictor_names)})"
    return " + ".join([fixed, *reversed(_random_terms(design).values())])


def layout_columns(design: PowerDesign, layout: Layout, y: np.ndarray) -> dict[str, np.ndarray]:
    """The replicate's columns: ids, time, each therapist's predictor scores and the outcome."""
    columns = {"therapist": layout.therapist, "patient": layout.patient, "time": layout.time}
    for column, name in enumerate(design.predictor_names):
        columns[name] = layout.predictors[layout.therapist, column]
    columns["alliance"] = y
    return columns


def layout_frame(design: PowerDesign, layout: Layout, y: np.ndarray) -> pd.DataFrame:
    """The replicate as a data frame (what a user would fit; used for checks and peers)."""
    return pd.DataFrame(layout_columns(design, layout, y))


class ModelBuilder:
    """The model of one design: its formula, a validated template and fast per-replicate specs.

    Parameters
    ----------
    design : PowerDesign
        The design; its template study (seed :data:`TEMPLATE_SEED`) is validated by
        :func:`alliance.mixed.build_spec`, so a model the engine refuses (e.g. more random
        effects than observations) is reported before any replicate runs.
    """

    def __init__(self, design: PowerDesign) -> None:
        self.design = design
        self.formula = model_formula(design)
        rng = np.random.default_rng(TEMPLATE_SEED)
        layout = draw_layout(design, rng)
        y = draw_response(design, layout, design.fixed_effects(), rng)
        self.template = build_spec(self.formula, layout_frame(design, layout, y))
        # the engine orders levels innermost first (more groups), as _random_terms lists them
        self.roles = tuple(_random_terms(design))
        groups = [level.n_groups for level in self.template.levels]
        if len(groups) == 2 and groups[0] <= groups[1]:
            raise SpecificationError(
                f"the template study of this design has {groups[1]} therapists and only "
                f"{groups[0]} patients, so therapist and patient effects cannot be told apart; "
                "raise sample.patients_per_therapist."
            )
        self.start = true_parameters(design, self.template, self.roles)

    def spec(self, layout: Layout, y: np.ndarray) -> MixedModelSpec:
        """The MixedModelSpec of a replicate, equal to ``build_spec(formula, layout_frame(...))``.

        Raises
        ------
        SpecificationError
            If the replicate cannot identify the model (see
            :func:`alliance.mixed.spec.rebuild_spec`); counted as a failed fit by
            :func:`alliance.power.replicate.run_task`.
        """
        return rebuild_spec(self.template, layout_columns(self.design, layout, y))


def true_parameters(
    design: PowerDesign, spec: MixedModelSpec, roles: tuple[str, ...]
) -> np.ndarray:
    """lme4's ``theta`` at the generating values: the Cholesky factors of ``G / sigma^2``.

    Fits start here, as simr's refits start from the parameters of the model that generated
    the data. Measured on a 40-therapist design with 11 linear waves (tests/power/
    test_analytic.py): from lme4's default start the engine stopped short of the optimum in 33
    of 60 replicates (its line search failed after a poor quasi-Newton step), from here it
    reached the best optimum found in all 60; on the reference design both starts give the
    same optima.
    """
    layout = ParameterLayout.from_spec(spec)
    variance = design.variance
    covariances = {"therapist": variance.therapist_covariance(),
                   "patient": variance.patient_covariance()}
    params = layout.start()
    for level, spec_level, role in zip(layout.levels, spec.levels, roles, strict=True):
        keep = [0 if name == "(Intercept)" else 1 for name in spec_level.column_names]
        relative = covariances[role][np.ix_(keep, keep)] / variance.residual_sd**2
        factor = np.linalg.cholesky(relative)
        params[level.start:level.stop] = factor[level.rows, level.cols]
    return params
