"""Text and HTML display of mixed-model results (all rounding happens here).

:func:`number`, :func:`p_value` and :func:`statistic` are the one place where the numbers of a
fit summary are rounded for display: :func:`summary_text`, :func:`summary_html` and the
``alliance fit`` command (:mod:`alliance.cli.fit`) all use them. Report tables and sentences
follow APA style instead (:mod:`alliance.apa`).
"""

from __future__ import annotations

import html
import math
from numbers import Real
from typing import TYPE_CHECKING

import pandas as pd

from alliance.mixed.r_squared import r_squared

if TYPE_CHECKING:
    from alliance.mixed.result import MixedResult


def number(value: object, digits: int = 4) -> str:
    """A number of a fit summary: ``digits`` decimals, or ``digits`` significant digits in
    scientific notation when it is very large or very small.

    Fixed notation (``f"{value:.4f}"``) for ``1e-3 <= |value| < 1e5`` and for zero, general
    notation (``f"{value:.4g}"``) otherwise: ``0.1234``, ``123.4567``, ``1.235e-05``,
    ``1.235e+05``. Zero prints as ``0.0000``, like its neighbours in a column, as lme4's summary
    prints a variance estimated at the boundary (``0.000``) rather than as a very small number.
    Missing, non-numeric and non-finite values print as the empty string.
    """
    if not isinstance(value, Real) or isinstance(value, bool):
        return ""
    value = float(value)
    if not math.isfinite(value):
        return ""
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.{digits}g}"
    return f"{value:.{digits}f}"


def p_value(value: float) -> str:
    """A p value to three decimals, ``< .001`` below 0.001; empty when not finite."""
    if not math.isfinite(value):
        return ""
    return "< .001" if value < 0.001 else f"{value:.3f}"


def statistic(value: float) -> str:
    """A test statistic (t) to three decimals."""
    return f"{value:.3f}"


def _random_table(result: MixedResult) -> pd.DataFrame:
    records = result.random_effects.to_dict(orient="records")
    rows = []
    for row in records:
        if pd.isna(row["term2"]):
            rows.append({"Groups": row["group"],
                         "Name": "" if pd.isna(row["term1"]) else row["term1"],
                         "Variance": number(row["vcov"]), "Std.Dev.": number(row["sdcor"])})
    for row in records:
        if not pd.isna(row["term2"]):
            rows.append({"Groups": row["group"], "Name": f"corr({row['term1']}, {row['term2']})",
                         "Variance": "", "Std.Dev.": number(row["sdcor"], 3)})
    return pd.DataFrame(rows)


def _fixed_table(result: MixedResult) -> pd.DataFrame:
    table = result.fixed_effects.reset_index(drop=True)
    return pd.DataFrame({
        "Estimate": table["estimate"].map(number),
        "Std. Error": table["std_error"].map(number),
        "df": table["df"].map(lambda v: number(v, 2)),
        "t value": table["t"].map(statistic),
        "Pr(>|t|)": table["p"].map(p_value),
        "CI": [f"[{number(lo)}, {number(hi)}]" for lo, hi in zip(
            table["ci_low"], table["ci_high"], strict=True)],
    }).set_index(table["term"].rename(None))


def r_squared_line(result: MixedResult) -> str:
    """``R² (Nakagawa): marginal 0.2787, conditional 0.7992`` (a singular fit is reported among
    the result's warnings, so no warning is raised here)."""
    r2 = r_squared(result, warn=False)
    return (f"R² (Nakagawa & Schielzeth / Johnson): marginal {r2.marginal:.4f}, "
            f"conditional {r2.conditional:.4f}")


def _header(result: MixedResult) -> list[str]:
    criterion = "REML criterion at convergence" if result.reml else "deviance"
    groups = "; ".join(f"{name}, {count}" for name, count in result.groups.items())
    lines = [
        f"Linear mixed model fit by {'REML' if result.reml else 'maximum likelihood'}"
        f" ({result.df_method} df)",
        f"Formula: {result.spec.formula.formula}",
        f"{criterion}: {result.deviance:.4f}   logLik: {result.loglik:.4f}   "
        f"AIC: {result.aic:.4f}   BIC: {result.bic:.4f}",
        f"Number of obs: {result.n_obs}, groups: {groups}",
        f"Fixed-effect tests: {result.inference_method}",
        r_squared_line(result),
    ]
    if result.n_dropped:
        lines.append(f"Excluded for missing values: {result.n_dropped} rows")
    return lines


def summary_text(result: MixedResult) -> str:
    """lme4-style summary for the terminal."""
    lines = _header(result)
    lines += ["", "Random effects:", _random_table(result).to_string(index=False)]
    ratios = result.residual_sd_ratios
    if len(ratios) > 1:
        lines.append("Residual SD ratios (varIdent): " + ", ".join(
            f"{name} {number(value)}" for name, value in ratios.items()))
    lines += ["", "Fixed effects:", _fixed_table(result).to_string()]
    status = "converged" if result.converged else "NOT converged"
    lines += ["", f"Optimizer: {result.fit_info.optimizer}; {status} after "
              f"{result.fit_info.n_evaluations} evaluations; max |gradient| "
              f"{result.fit_info.projected_gradient:.2g}"]
    lines += [f"Warning: {note}" for note in result.warnings]
    return "\n".join(lines)


def summary_html(result: MixedResult) -> str:
    """The same summary as HTML tables, for notebooks."""
    head = "".join(f"<div>{html.escape(line)}</div>" for line in _header(result))
    warnings = "".join(
        f"<div style='color:#a00'>Warning: {html.escape(note)}</div>" for note in result.warnings
    )
    return (
        f"<div class='alliance-mixed'>{head}<h4>Random effects</h4>"
        f"{_random_table(result).to_html(index=False)}<h4>Fixed effects</h4>"
        f"{_fixed_table(result).to_html()}{warnings}</div>"
    )
