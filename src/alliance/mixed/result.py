"""Stage 5 of a fit: the result of a nested linear mixed model.

A value: immutable and at full precision. Its arrays are read-only and its tables are handed
out as copies, so that nothing a caller does to them changes what the result reports later;
rounding happens only in :mod:`alliance.mixed.display`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from alliance.mixed.conditional import (
    ConditionalEffects,
    conditional_effects,
    random_contribution,
)
from alliance.mixed.display import summary_html, summary_text
from alliance.mixed.inference import fixed_effects_table
from alliance.mixed.minimiser import FitInfo
from alliance.mixed.objective import Evaluation, ProfiledDeviance
from alliance.mixed.predict import predict
from alliance.mixed.r_squared import RSquared, r_squared
from alliance.mixed.spec import MixedModelSpec

if TYPE_CHECKING:
    from alliance.mixed.contrasts import Contrasts
    from alliance.mixed.kenward_roger import KenwardRoger
    from alliance.mixed.marginal import Clustering
    from alliance.mixed.robust import ClusterRobust
    from alliance.mixed.variance_shares import VarianceIntervals, VarianceShare

# Kenward-Roger, CR2, contrasts and variance-share intervals are imported where they are
# used: a fit that asks for none of them (a command-line fit, a power replicate) does not load
# them, nor scipy.linalg.

RANDOM_COLUMNS = ["group", "term1", "term2", "vcov", "sdcor"]


def _read_only(values: np.ndarray) -> np.ndarray:
    """A read-only copy of ``values``."""
    frozen = np.array(values, dtype=float)
    frozen.flags.writeable = False
    return frozen


@dataclass(frozen=True, repr=False)
class MixedResult:
    """A fitted nested linear mixed model.

    Attributes
    ----------
    spec : MixedModelSpec
        The validated model (formula, arrays, grouping levels).
    method : str
        ``"REML"`` or ``"ML"``.
    params : numpy.ndarray
        Optimum of the covariance parameters ``[theta, rho]``.
    beta : numpy.ndarray
        Fixed-effect estimates.
    vcov_beta : numpy.ndarray
        Their covariance matrix.
    sigma : float
        Residual standard deviation (of the first residual stratum).
    deviance : float
        ``-2 logLik`` under ML; the REML criterion under REML (as lme4 reports).
    df_method : str
        ``"satterthwaite"``, ``"containment"``, ``"residual"``, ``"kenward-roger"`` (the
        table's SEs from the adjusted covariance) or ``"bell-mccaffrey"`` (CR2 cluster-robust
        SEs with their Satterthwaite df; ``robust`` is then ``"cr2"``).
    confidence : float
        Level of the fixed-effect confidence intervals.
    singular : bool
        A variance at 0 or a correlation at +-1 (lme4's ``isSingular``).
    fit_info : FitInfo
        How the optimum was obtained.
    objective : ProfiledDeviance
        The engine state that inference reads: the deviance function of this model on these
        data (for Satterthwaite df, profiles, refits and the bootstrap). Evaluating it does
        not change the result; its ``n_evaluations`` counts every evaluation, also those made
        after the fit (the fit's own count is ``fit_info.n_evaluations``).
    evaluation : Evaluation
        The elimination at the optimum (for conditional modes).
    clustering : Clustering or None
        The clusters of robust SEs when not the outermost groups.

    The fixed-effects table (with its small-sample df), the variance-component table and the
    conditional modes are computed on first access, as lmerTest computes df at ``summary()``: a fit used only for its
    deviance (a likelihood-ratio test, a power simulation) does not pay for them.
    """

    spec: MixedModelSpec
    method: str
    params: np.ndarray
    beta: np.ndarray
    vcov_beta: np.ndarray
    sigma: float
    deviance: float
    df_method: str
    confidence: float
    singular: bool
    fit_info: FitInfo
    objective: ProfiledDeviance = field(repr=False)
    evaluation: Evaluation = field(repr=False)
    fit_seconds: float = 0.0
    clustering: Clustering | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name in ("params", "beta", "vcov_beta"):
            object.__setattr__(self, name, _read_only(getattr(self, name)))

    def __repr__(self) -> str:
        groups = ", ".join(f"{name}: {count}" for name, count in self.groups.items())
        state = "converged" if self.converged else "NOT converged"
        if self.singular:
            state += ", singular"
        return (
            f"<MixedResult {self.method} '{self.spec.formula.formula}': n_obs {self.n_obs}, "
            f"groups {{{groups}}}, deviance {self.deviance:.6f}, {state}>"
        )

    @property
    def fixed_effects(self) -> pd.DataFrame:
        """term, estimate, std_error, df, t, p, ci_low, ci_high (a copy)."""
        return self._fixed_effects_table.copy()

    @cached_property
    def _fixed_effects_table(self) -> pd.DataFrame:
        return fixed_effects_table(self)

    @property
    def robust(self) -> str | None:
        """``"cr2"`` when the table has cluster-robust SEs, else None."""
        return "cr2" if self.df_method == "bell-mccaffrey" else None

    @cached_property
    def kenward_roger(self) -> KenwardRoger:
        """Kenward-Roger's adjusted covariance, df and F tests (REML fits only):
        :func:`alliance.mixed.kenward_roger.kenward_roger`."""
        from alliance.mixed.kenward_roger import kenward_roger

        return kenward_roger(self)

    @cached_property
    def cluster_robust(self) -> ClusterRobust:
        """CR2 cluster-robust covariance and its Bell-McCaffrey df, clustered by
        ``clustering`` (the outermost groups by default): :func:`alliance.mixed.robust.cluster_robust`."""
        from alliance.mixed.marginal import top_level_clustering
        from alliance.mixed.robust import cluster_robust

        return cluster_robust(self, self.clustering or top_level_clustering(self.spec))

    @cached_property
    def vcov_fixed(self) -> np.ndarray:
        """The covariance of the fixed effects behind the table's SEs and tests: ``vcov_beta``,
        Kenward-Roger's adjusted one (df_method ``"kenward-roger"``) or the CR2 one
        (``"bell-mccaffrey"``). Read-only."""
        if self.df_method == "kenward-roger":
            return _read_only(self.kenward_roger.vcov_adjusted)
        if self.df_method == "bell-mccaffrey":
            return _read_only(self.cluster_robust.vcov)
        return self.vcov_beta

    @property
    def inference_method(self) -> str:
        """Which SEs and df the fixed-effects table has, in words."""
        if self.df_method == "kenward-roger":
            return "Kenward-Roger adjusted SEs and df (as pbkrtest)"
        if self.df_method == "bell-mccaffrey":
            clusters = self.cluster_robust
            return (f"CR2 cluster-robust SEs ({clusters.n_clusters} clusters of "
                    f"{clusters.cluster}) with Satterthwaite (Bell-McCaffrey) df (as clubSandwich)")
        names = {"satterthwaite": "Satterthwaite df (as lmerTest)",
                 "containment": "containment df (as HLM)", "residual": "residual df (n - p)"}
        return f"model-based SEs, {names.get(self.df_method, self.df_method + ' df')}"

    @property
    def random_effects(self) -> pd.DataFrame:
        """Variances, covariances, SDs and correlations, as lme4's ``as.data.frame(VarCorr())``.

        Rows per level: the variances of its terms, then the covariances within correlated
        terms; last the residual. Columns group, term1, term2 (None for a variance), vcov,
        sdcor (the SD of a variance row, the correlation of a covariance row). A copy.
        """
        return self._random_effects_table.copy()

    @cached_property
    def _random_effects_table(self) -> pd.DataFrame:
        rows: list[dict[str, object]] = []
        for level, cov in zip(self.spec.levels, self.covariance_matrices().values(),
                              strict=True):
            matrix = cov.to_numpy()
            sd = np.sqrt(np.diag(matrix))
            offset = 0
            for block in level.blocks:
                names = block.names
                for i, name in enumerate(names, start=offset):
                    rows.append({"group": level.name, "term1": name, "term2": None,
                                 "vcov": matrix[i, i], "sdcor": sd[i]})
                if block.correlated:
                    for a in range(block.size):
                        for b in range(a + 1, block.size):
                            i, j = offset + a, offset + b
                            product = sd[i] * sd[j]
                            rows.append({"group": level.name, "term1": names[a],
                                         "term2": names[b], "vcov": matrix[i, j],
                                         "sdcor": matrix[i, j] / product if product > 0
                                         else np.nan})
                offset += block.size
        rows.append({"group": "Residual", "term1": None, "term2": None,
                     "vcov": self.sigma**2, "sdcor": self.sigma})
        return pd.DataFrame(rows, columns=RANDOM_COLUMNS)

    @cached_property
    def conditional(self) -> ConditionalEffects:
        """Conditional modes and covariances of the random effects."""
        return conditional_effects(
            self.spec, self.objective.statistics, self.evaluation, self.sigma**2
        )

    @cached_property
    def r2(self) -> RSquared:
        """Marginal and conditional R² (Nakagawa & Schielzeth 2013; Johnson 2014), as
        ``performance::r2_nakagawa``: :func:`alliance.mixed.r_squared.r_squared`."""
        return r_squared(self)

    def contrast(self, contrasts: Contrasts, *, joint: bool = False) -> pd.DataFrame:
        """Test linear combinations of the fixed effects, as lmerTest's ``contest``.

        ``contrasts`` is a mapping term -> weight, a mapping label -> such a mapping, a vector
        of ``p`` weights or a ``k x p`` matrix. Without ``joint``, a t test per row (estimate,
        std_error, df by ``df_method``, t, p, ci_low, ci_high at ``confidence``:
        :func:`alliance.mixed.contrasts.contrast_tests`); with ``joint``, one F test of all rows
        (f, num_df, den_df, p: :func:`alliance.mixed.contrasts.joint_test`).
        """
        if joint:
            from alliance.mixed.contrasts import joint_test

            return joint_test(self, contrasts)
        from alliance.mixed.contrasts import contrast_tests

        return contrast_tests(self, contrasts)

    @property
    def reml(self) -> bool:
        return self.method == "REML"

    @property
    def converged(self) -> bool:
        return self.fit_info.converged

    @property
    def n_obs(self) -> int:
        return self.spec.n_obs

    @property
    def n_dropped(self) -> int:
        """Rows excluded for missing values in the model's columns."""
        return self.spec.n_dropped

    @property
    def groups(self) -> dict[str, int]:
        return self.spec.groups

    @property
    def theta(self) -> np.ndarray:
        return self.params[: self.objective.layout.n_theta]

    @property
    def n_parameters(self) -> int:
        """Parameters counted by lme4 for AIC/BIC: fixed effects, theta, rho and sigma."""
        return len(self.beta) + len(self.params) + 1

    @property
    def loglik(self) -> float:
        return -0.5 * self.deviance

    @property
    def aic(self) -> float:
        return self.deviance + 2.0 * self.n_parameters

    @property
    def bic(self) -> float:
        return self.deviance + np.log(self.n_obs) * self.n_parameters

    @property
    def residual_variance(self) -> float:
        return self.sigma**2

    @property
    def residual_sd_ratios(self) -> dict[str, float]:
        """Residual SD of each stratum relative to the first (nlme's varIdent ratios)."""
        layout = self.objective.layout
        weights = layout.strata_weights(self.params)
        return dict(zip(layout.strata_labels, 1.0 / np.sqrt(weights), strict=True))

    @property
    def warnings(self) -> tuple[str, ...]:
        notes = list(self.fit_info.warnings)
        if self.singular:
            notes.append(
                "boundary (singular) fit: a variance is estimated as 0 or a correlation as +-1; "
                "consider simplifying the random effects"
            )
            if self.df_method == "kenward-roger":
                from alliance.mixed.kenward_roger import BOUNDARY_NOTE

                notes.append(BOUNDARY_NOTE)
        if self.n_dropped:
            notes.append(f"{self.n_dropped} rows with missing values were excluded")
        return tuple(notes)

    def covariance_matrices(self) -> dict[str, pd.DataFrame]:
        """Covariance matrix of the random effects of each grouping level."""
        out = {}
        for level, lam in zip(self.spec.levels, self.objective.layout.lambdas(self.params), strict=True):
            names = list(level.column_names)
            out[level.name] = pd.DataFrame(self.sigma**2 * lam @ lam.T, index=names, columns=names)
        return out

    def ranef(self, condvar: bool = True) -> dict[str, pd.DataFrame]:
        """Conditional modes (BLUPs) per grouping level; with ``condvar`` their variances.

        One DataFrame per level with the group label as index, one column per term and, with
        ``condvar``, ``var(<term>)`` columns (the diagonal of lme4's ``condVar``).
        """
        out = {}
        for level, modes, cov in zip(
            self.spec.levels, self.conditional.modes, self.conditional.covariances, strict=True
        ):
            names = list(level.column_names)
            frame = pd.DataFrame(modes, index=pd.Index(level.labels, name=level.name), columns=names)
            if condvar:
                for j, name in enumerate(names):
                    frame[f"var({name})"] = cov[:, j, j]
            out[level.name] = frame
        return out

    @cached_property
    def fitted(self) -> np.ndarray:
        """Fitted values ``X beta + Z b`` of the rows used in the fit (read-only)."""
        return _read_only(
            self.spec.x @ self.beta + random_contribution(self.spec, self.conditional.modes)
        )

    @property
    def residuals(self) -> np.ndarray:
        """Response minus fitted values (rows used in the fit)."""
        return self.spec.y - self.fitted

    def predict(
        self, newdata: pd.DataFrame, *, include_random: bool = True, allow_new_levels: bool = True
    ) -> pd.Series:
        """Predictions for new rows: :func:`alliance.mixed.predict.predict`."""
        return predict(self, newdata, include_random=include_random,
                       allow_new_levels=allow_new_levels)

    def to_frame(self) -> pd.DataFrame:
        """The fixed-effects table (a copy)."""
        return self.fixed_effects

    def to_dict(self) -> dict[str, Any]:
        """The result as the ``alliance fit --json`` contract (docs/results-schema.md)."""
        random_rows = []
        records = self.random_effects.to_dict(orient="records")
        for row in records:
            term1 = None if pd.isna(row["term1"]) else row["term1"]
            term2 = None if pd.isna(row["term2"]) else row["term2"]
            entry: dict[str, Any] = {"group": row["group"], "term1": term1, "term2": term2}
            if term2 is None:
                entry.update(variance=float(row["vcov"]), sd=float(row["sdcor"]))
            else:
                entry.update(covariance=float(row["vcov"]), correlation=float(row["sdcor"]))
            random_rows.append(entry)
        return {
            "formula": self.spec.formula.formula,
            "method": self.method,
            "n_obs": self.n_obs,
            "n_excluded_missing": self.n_dropped,
            "groups": self.groups,
            "loglik": self.loglik,
            "deviance": self.deviance,
            "aic": self.aic,
            "bic": self.bic,
            "converged": self.converged,
            "singular": self.singular,
            "df_method": self.df_method,
            "standard_errors": self.inference_method,
            "robust": None if self.robust is None else {
                "type": self.robust, "cluster": self.cluster_robust.cluster,
                "n_clusters": self.cluster_robust.n_clusters},
            "fixed_effects": [
                {key: (value if key == "term" else float(value)) for key, value in row.items()}
                for row in self.fixed_effects.to_dict(orient="records")
            ],
            "random_effects": random_rows,
            "residual_variance": self.residual_variance,
            "residual_sd_ratios": self.residual_sd_ratios,
            # the singular fit is reported under "warnings"
            "r2": r_squared(self, warn=False).to_dict(),
            "theta": self.theta.tolist(),
            "warnings": list(self.warnings),
            "fit_info": {
                "optimizer": self.fit_info.optimizer,
                "n_evaluations": self.fit_info.n_evaluations,
                "n_iterations": self.fit_info.n_iterations,
                "message": self.fit_info.message,
                "gradient": self.fit_info.gradient.tolist(),
                "projected_gradient": self.fit_info.projected_gradient,
            },
            "fit_seconds": self.fit_seconds,
        }

    def variance_intervals(
        self, shares: list[VarianceShare] | None = None, *, level: float = 0.95,
        n_boot: int = 1000, seed: int | None = None, method: str = "auto",
    ) -> VarianceIntervals:
        """Intervals of the variance components and variance shares (ICCs): parametric
        bootstrap (:func:`alliance.mixed.variance_shares.variance_intervals`, needs ``seed``) or,
        for large designs, the delta method
        (:func:`alliance.mixed.variance_shares.large_sample_intervals`), as ``method`` and
        :func:`alliance.mixed.variance_shares.interval_method` choose."""
        # imported here: the module imports this one
        from alliance.mixed.variance_shares import (
            interval_method,
            large_sample_intervals,
            variance_intervals,
        )

        if interval_method(self, method) == "large-sample":
            return large_sample_intervals(self, shares, level=level)
        return variance_intervals(self, shares, level=level, n_boot=n_boot, seed=seed)

    def summary(self) -> str:
        """Text like lme4's ``summary()``, for the terminal."""
        return summary_text(self)

    def _repr_html_(self) -> str:
        return summary_html(self)

    def __str__(self) -> str:
        return self.summary()
