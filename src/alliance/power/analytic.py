"""Large-sample (Wald z) power of a therapist-level effect, in closed form or from the GLS information.

With known variance components the GLS estimator of the fixed effects has covariance
``(sum_k X_k' V_k^-1 X_k)^-1``, ``V_k = Z_k G Z_k' + sigma^2 I`` the marginal covariance of
therapist ``k``'s observations, and the two-sided z test of an effect ``g`` with standard error
``se`` has power ``Phi(|g|/se - z) + Phi(-|g|/se - z)``, ``z = Phi^-1(1 - alpha/2)``.

Closed form (balanced designs). With ``n2`` patients per therapist, all measured at the same
``n`` waves ``t_1 .. t_n`` (``T = [1, t]``), every patient's OLS intercept and slope
``b_jk = (T'T)^-1 T' y_jk`` has covariance ``G_u + sigma^2 (T'T)^-1``, so a therapist's mean
of them has ``Omega = G_v + (G_u + sigma^2 (T'T)^-1) / n2``, the same for every therapist.
Because every therapist has the same ``V_k``, the GLS estimator equals OLS on these
summaries (Raudenbush & Liu 2001, Psychol Methods 6(4) 387-401, sec. "Balanced designs";
powerlmm's ``get_power`` for ``n2`` fixed without dropout), and the coefficients of a
therapist-level predictor ``x_k`` have::

    var(g_level) = Omega_00 / (J s_k),   Omega_00 = v0^2 + (u0^2 + sigma^2 (1/n + tbar^2/SS_t)) / n2
    var(g_growth) = Omega_11 / (J s_k),  Omega_11 = v1^2 + (u1^2 + sigma^2 / SS_t) / n2

with ``SS_t = sum (t_i - tbar)^2``, ``J`` therapists and ``s_k = 1 / [Sigma_x^-1]_kk`` the
variance of ``x_k`` not explained by the other predictors (1 / (1 - R^2)): the population
value for normal predictors (large sample), ``p (1 - p)`` of the exact allocation for a binary
one. Checked: equal to the numerical GLS covariance below on balanced designs (to 1e-10) and
within Monte Carlo error of simulated power (tests/power/test_analytic.py).

Unbalanced designs (random caseloads, dropout, open-ended treatments). No closed form; the
exact GLS covariance is computed numerically from each therapist's marginal covariance
(:func:`gls_covariance`) for ``realisations`` studies drawn from the design (caseloads,
predictors, dropout), and the power is the mean of their powers, as powerlmm averages its
power over realisations of random cluster sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from alliance.power.design import PowerDesign
from alliance.power.generate import Layout, draw_layout

CLOSED_FORM = "closed form (balanced design)"
GLS_INFORMATION = "GLS information (mean over drawn designs)"


@dataclass(frozen=True)
class AnalyticPower:
    """Large-sample power of one tested effect.

    Attributes
    ----------
    term : str
        The effect.
    std_error : float
        Its GLS standard error (root mean variance over the drawn designs when unbalanced).
    power : float
        Power of the two-sided Wald z test at the design's ``alpha``.
    method : str
        :data:`CLOSED_FORM` or :data:`GLS_INFORMATION`.
    realisations : int
        Designs drawn (0 for the closed form).
    """

    term: str
    std_error: float
    power: float
    method: str
    realisations: int


def z_power(effect: float | np.ndarray, std_error: float | np.ndarray, alpha: float) -> np.ndarray:
    """Power of the two-sided Wald z test of ``effect`` with standard error ``std_error``."""
    z = special.ndtri(1.0 - alpha / 2.0)
    ratio = np.abs(effect) / std_error
    return np.asarray(special.ndtr(ratio - z) + special.ndtr(-ratio - z))


def fixed_names(design: PowerDesign) -> list[str]:
    """Fixed effects in the engine's order: intercept, time, predictors, time:predictors."""
    names = design.predictor_names
    return ["(Intercept)", "time", *names, *(f"time:{name}" for name in names)]


def closed_form_applies(design: PowerDesign) -> bool:
    """Balanced, and predictor variances known: normal, or binary and uncorrelated."""
    binary = any(p.distribution == "binary" for p in design.predictors)
    return design.balanced and not (binary and design.predictor_correlation)


def predictor_precision(design: PowerDesign) -> np.ndarray:
    """``J s_k`` per predictor (module docstring)."""
    j = design.therapists
    if design.predictor_correlation:
        inverse_diagonal = np.diag(np.linalg.inv(np.asarray(design.predictor_correlation)))
        return j / inverse_diagonal
    out = []
    for predictor in design.predictors:
        if predictor.distribution == "binary":
            share = round(predictor.proportion * j) / j
            out.append(j * share * (1.0 - share))
        else:
            out.append(float(j))
    return np.asarray(out)


def closed_form_variances(design: PowerDesign) -> dict[str, float]:
    """Variance of each predictor's level and growth coefficient in a balanced design."""
    times = design.schedule.times
    n = len(times)
    ss_t = float(((times - times.mean()) ** 2).sum())
    design_inverse = np.array([
        [1.0 / n + times.mean() ** 2 / ss_t, -times.mean() / ss_t],
        [-times.mean() / ss_t, 1.0 / ss_t],
    ])
    variance = design.variance
    n2 = design.caseload.mean
    omega = variance.therapist_covariance() + (
        variance.patient_covariance() + variance.residual_sd**2 * design_inverse
    ) / n2
    out = {}
    for name, precision in zip(design.predictor_names, predictor_precision(design), strict=True):
        out[name] = float(omega[0, 0] / precision)
        out[f"time:{name}"] = float(omega[1, 1] / precision)
    return out


def fixed_design_matrix(layout: Layout) -> np.ndarray:
    """Rows of ``X`` in :func:`fixed_names` order."""
    x = layout.predictors[layout.therapist]
    time = layout.time[:, None]
    return np.column_stack([np.ones(layout.n_obs), layout.time, x, time * x])


def gls_covariance(design: PowerDesign, layout: Layout) -> np.ndarray:
    """``(sum_k X_k' V_k^-1 X_k)^-1`` at the true variance components, in :func:`fixed_names` order.

    All therapists are solved in one batched call: each block is padded to the largest
    therapist with identity rows that carry no ``X``, which adds nothing to the information.
    """
    variance = design.variance
    g_v, g_u = variance.therapist_covariance(), variance.patient_covariance()
    x_rows = fixed_design_matrix(layout)
    counts = np.bincount(layout.therapist, minlength=layout.n_therapists)
    width = int(counts.max())
    starts = np.cumsum(counts) - counts
    position = np.arange(layout.n_obs) - starts[layout.therapist]
    shape = (layout.n_therapists, width)
    valid = np.zeros(shape, dtype=bool)
    valid[layout.therapist, position] = True
    time = np.zeros(shape)
    time[layout.therapist, position] = layout.time
    patient = np.full(shape, -1)
    patient[layout.therapist, position] = layout.patient
    x = np.zeros((*shape, x_rows.shape[1]))
    x[layout.therapist, position] = x_rows

    def kernel(g: np.ndarray) -> np.ndarray:
        a, b = time[:, :, None], time[:, None, :]
        return g[0, 0] + g[0, 1] * (a + b) + g[1, 1] * a * b

    pair = valid[:, :, None] & valid[:, None, :]
    same_patient = pair & (patient[:, :, None] == patient[:, None, :])
    v = np.where(pair, kernel(g_v), 0.0) + np.where(same_patient, kernel(g_u), 0.0)
    v += np.where(valid, variance.residual_sd**2, 1.0)[:, :, None] * np.eye(width)
    information = np.einsum("kia,kib->ab", x, np.linalg.solve(v, x))
    return np.linalg.inv(information)


def analytic_power(
    design: PowerDesign, rng: np.random.Generator, realisations: int = 200
) -> tuple[AnalyticPower, ...]:
    """Large-sample power of every tested effect (closed form when the design is balanced)."""
    effects = design.tested
    if closed_form_applies(design):
        exact = closed_form_variances(design)
        return tuple(
            AnalyticPower(e.term, float(np.sqrt(exact[e.term])),
                          float(z_power(e.value, np.sqrt(exact[e.term]), design.alpha)),
                          CLOSED_FORM, 0)
            for e in effects
        )
    names = fixed_names(design)
    columns = [names.index(e.term) for e in effects]
    variances = np.empty((realisations, len(effects)))
    for r in range(realisations):
        covariance = gls_covariance(design, draw_layout(design, rng))
        variances[r] = np.diag(covariance)[columns]
    values = np.array([e.value for e in effects])
    powers = z_power(values, np.sqrt(variances), design.alpha).mean(axis=0)
    return tuple(
        AnalyticPower(e.term, float(np.sqrt(variances[:, k].mean())), float(powers[k]),
                      GLS_INFORMATION, realisations)
        for k, e in enumerate(effects)
    )
