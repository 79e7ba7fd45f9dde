"""Bias-corrected factor scores for use as predictors (Croon's correction).

Factor scores are estimates: entered as predictors "as if measured without error" they bias
regression coefficients. Croon (2002) corrects the moments of factor scores ``s = W' z`` by
the measurement model (``z = L f + e``, ``Var(f) = Phi``): ``Cov(s, f) = W' L Phi``, so that the
regression of an outcome on the factors follows from the observed moments of the scores and
the outcome. For a linear model in the factors this is the same as regressing on the
*calibrated* scores

    ``c = (s - mean(s)) C``,  ``C = Var(s)^-1 Cov(s, f) = Var(s)^-1 W' L Phi``,

the best linear predictor of ``f`` from ``s`` (regression calibration; Skrondal & Laake 2001,
Psychometrika 66, 563-575, show that regression scores give consistent coefficients for
explanatory latent variables; Devlieger, Mayer & Rosseel 2016, Educ Psychol Meas 76, 741-770,
compare the corrections): ``E[f | c] = c`` under a normal factor model, so an outcome model
linear in ``f`` has the same coefficients in ``c``, per SD of the factor itself, and the
prediction error ``f - c``, independent of ``c``, joins the outcome model's residual and
random-effect variances, where a mixed model's inference accounts for it. For regression
(Thurstone) scores ``W = R^-1 L Phi``, ``Var(s) = W' R W = W' L Phi``, so ``C = I``: the
regression scores themselves are the calibrated scores. For Bartlett scores ``C`` shrinks them
by their reliability.
"""

from __future__ import annotations

import numpy as np


def calibration_matrix(
    weights: np.ndarray, pattern: np.ndarray, phi: np.ndarray, score_covariance: np.ndarray
) -> np.ndarray:
    """``C = Var(s)^-1 W' L Phi`` (module docstring), factors x factors.

    Parameters
    ----------
    weights
        Items x factors weights ``W`` applied to standardised items.
    pattern, phi
        The measurement model: pattern loadings ``L`` (items x factors) and factor
        correlations ``Phi``, in the order of ``weights``' columns.
    score_covariance
        ``Var(s)``: the covariance of the scores in the sample the model was estimated in.
    """
    return np.linalg.solve(score_covariance, weights.T @ pattern @ phi)
