"""Tests of linear combinations of fixed effects: t tests of contrasts and a joint F test.

A contrast ``l`` (one weight per fixed effect) estimates ``l' beta`` with variance ``l' V l``,
``V`` the covariance behind the fixed-effects table (``result.vcov_fixed``: model-based,
Kenward-Roger adjusted or CR2, by the df method); its t test refers ``t = l' beta / sqrt(l' V
l)`` to a t distribution with the df of :func:`alliance.mixed.inference.denominator_df` for
the result's df method, as lmerTest's ``contest1D`` (Kuznetsova, Brockhoff & Christensen 2017,
J Stat Softw 82(13), sec. 3.3) does with Satterthwaite or Kenward-Roger df.

The joint test of the ``k`` rows of ``L`` (``H0: L beta = 0``) follows lmerTest's ``contestMD``:
with the eigen-decomposition ``L V L' = P diag(d) P'`` and ``q`` the number of eigenvalues above
``sqrt(machine epsilon) d_1`` (the rank of ``L V L'``, so that redundant rows count once),

    F = (1 / q) sum_m (p_m' L beta)^2 / d_m,      numerator df q,

and, with Satterthwaite df, the denominator df combine the df ``nu_m`` of the ``q`` orthogonal
contrasts ``p_m' L``: ``E = sum_m nu_m / (nu_m - 2)``, ``ddf = 2 E / (E - q)`` (2 when some
``nu_m <= 2``; their mean when they are equal within 1e-8; ``nu_1`` when ``q = 1``). With
containment or residual df the F test is referred to the fewest df among the rows of ``L``
(the containment rule of ``denominator_df`` for all coefficients the hypothesis involves).
With Kenward-Roger df it is pbkrtest's scaled F test
(:meth:`alliance.mixed.kenward_roger.KenwardRoger.f_test`), as lmerTest's ``contestMD`` with
``ddf = "Kenward-Roger"``; with CR2 cluster-robust SEs a joint test is refused (clubSandwich's
``Wald_test`` is not implemented here).

Checked against lmerTest 3.1.3 on sleepstudy, Orthodont, mlmRev's Exam and a three-level
alliance study (tests/reference/lmertest_contest.json, tests/mixed/test_contrasts.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special

from alliance.errors import SpecificationError
from alliance.mixed.inference import denominator_df

if TYPE_CHECKING:
    from alliance.mixed.result import MixedResult

#: Columns of :func:`contrast_tests`, one row per contrast.
CONTRAST_COLUMNS = ["contrast", "estimate", "std_error", "df", "t", "p", "ci_low", "ci_high"]
#: Columns of :func:`joint_test`, one row.
JOINT_COLUMNS = ["f", "num_df", "den_df", "p"]

#: Relative size below which an eigenvalue of ``L V L'`` counts as 0 (lmerTest's
#: ``eps = sqrt(.Machine$double.eps)``).
RANK_TOLERANCE = float(np.sqrt(np.finfo(float).eps))

#: A contrast: weights by term name, labelled rows of such weights, or an array of weights.
Contrasts = Mapping[str, float] | Mapping[str, Mapping[str, float]] | ArrayLike


def _weight(value: object, where: str) -> float:
    try:
        weight = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SpecificationError(f"the weight of {where} is not a number: {value!r}") from None
    if not np.isfinite(weight):
        raise SpecificationError(f"the weight of {where} is not finite: {weight}")
    return weight


def _row_from_mapping(weights: Mapping[str, object], names: list[str]) -> np.ndarray:
    row = np.zeros(len(names))
    for term, value in weights.items():
        if term not in names:
            raise SpecificationError(
                f"{term!r} is not a fixed effect of the model; its fixed effects are: "
                f"{', '.join(names)}"
            )
        row[names.index(term)] = _weight(value, repr(term))
    return row


def _label(row: np.ndarray, names: list[str]) -> str:
    """``(Intercept) + 7 Days``, ``time:burdens - time:satisfactions``."""
    parts = []
    for weight, name in zip(row, names, strict=True):
        if weight == 0:
            continue
        sign = "-" if weight < 0 else "+"
        size = abs(weight)
        term = name if size == 1 else f"{size:g} {name}"
        parts.append(f"{sign} {term}")
    text = " ".join(parts)
    return text[2:] if text.startswith("+ ") else f"-{text[2:]}"


def contrast_matrix(names: list[str], contrasts: Contrasts) -> tuple[np.ndarray, list[str]]:
    """The ``k x p`` contrast matrix of ``contrasts`` and a label for each row.

    Parameters
    ----------
    names : list of str
        The model's fixed-effect names, in order.
    contrasts : mapping or array-like
        One of: a mapping term -> weight (one contrast; terms left out weigh 0); a mapping
        label -> (mapping term -> weight) (one contrast per entry); a vector of ``p``
        weights; a ``k x p`` matrix.

    Raises
    ------
    SpecificationError
        Unknown terms, a wrong number of weights, weights that are not finite numbers, or a
        row whose weights are all 0 (it tests nothing).
    """
    if isinstance(contrasts, Mapping):
        nested = {label: row for label, row in contrasts.items() if isinstance(row, Mapping)}
        if contrasts and len(nested) == len(contrasts):
            labels = [str(label) for label in nested]
            matrix = np.array([_row_from_mapping(row, names) for row in nested.values()])
        else:
            matrix = _row_from_mapping(contrasts, names)[None, :]
            labels = [_label(matrix[0], names)] if matrix.any() else [""]
    else:
        try:
            matrix = np.atleast_2d(np.asarray(contrasts, dtype=float))
        except (TypeError, ValueError):
            raise SpecificationError(
                "a contrast is a mapping term -> weight, a vector of weights or a matrix with "
                "one row per contrast"
            ) from None
        if matrix.ndim != 2 or matrix.shape[1] != len(names):
            raise SpecificationError(
                f"a contrast needs {len(names)} weights, one per fixed effect "
                f"({', '.join(names)}); got an array of shape {np.shape(contrasts)}"
            )
        if not np.all(np.isfinite(matrix)):
            raise SpecificationError("contrast weights must be finite numbers")
        labels = [_label(row, names) for row in matrix]
    if len(matrix) == 0:
        raise SpecificationError("no contrast given")
    empty = [index for index, row in enumerate(matrix) if not row.any()]
    if empty:
        raise SpecificationError(
            f"contrast row(s) {', '.join(str(index + 1) for index in empty)} have all weights "
            "0 and test nothing"
        )
    return matrix, labels


def contrast_tests(result: MixedResult, contrasts: Contrasts) -> pd.DataFrame:
    """The t test of each contrast, as lmerTest's ``contest(m, L, joint = FALSE)``.

    For each row ``l``: ``estimate = l' beta``, ``std_error = sqrt(l' V l)``, ``df`` from
    :func:`alliance.mixed.inference.denominator_df` (``result.df_method``), ``t = estimate /
    std_error``, two-sided ``p`` and the ``result.confidence`` interval ``estimate -+
    t_(df, (1 + confidence) / 2) std_error``.

    Returns
    -------
    pandas.DataFrame
        One row per contrast: :data:`CONTRAST_COLUMNS` (``contrast`` is the row's label).
    """
    matrix, labels = contrast_matrix(list(result.spec.fixed_names), contrasts)
    estimate = matrix @ result.beta
    std_error = np.sqrt(np.einsum("ki,ij,kj->k", matrix, result.vcov_fixed, matrix))
    df = denominator_df(result, matrix)
    t_value = estimate / std_error
    half_width = special.stdtrit(df, 0.5 + result.confidence / 2.0) * std_error
    return pd.DataFrame({
        "contrast": labels,
        "estimate": estimate,
        "std_error": std_error,
        "df": df,
        "t": t_value,
        "p": 2.0 * special.stdtr(df, -np.abs(t_value)),
        "ci_low": estimate - half_width,
        "ci_high": estimate + half_width,
    }, columns=CONTRAST_COLUMNS)


def f_test_ddf(nu: np.ndarray) -> float:
    """Denominator df of an F test from the df of its orthogonal 1-df parts (lmerTest's
    ``get_Fstat_ddf``): ``E = sum nu / (nu - 2)``, ``2 E / (E - q)``; 2 when some ``nu <= 2``,
    the common value when all are equal within 1e-8, ``nu`` itself for one part."""
    nu = np.asarray(nu, dtype=float)
    if len(nu) == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < 1e-8):
        return float(np.mean(nu))
    if np.any(nu <= 2.0):
        return 2.0
    expectation = float(np.sum(nu / (nu - 2.0)))
    return 2.0 * expectation / (expectation - len(nu))


def joint_test(result: MixedResult, contrasts: Contrasts) -> pd.DataFrame:
    """The F test of ``L beta = 0`` for all rows of ``L`` at once, as lmerTest's
    ``contest(m, L, joint = TRUE)`` (``contestMD``); the formulas are in the module docstring.

    Returns
    -------
    pandas.DataFrame
        One row: :data:`JOINT_COLUMNS` (``f``, ``num_df`` = the rank of ``L V L'``,
        ``den_df``, ``p``).

    Raises
    ------
    SpecificationError
        If ``L V L'`` is 0 (the rows estimate nothing with any uncertainty), or the result has
        CR2 cluster-robust SEs.
    """
    matrix, _ = contrast_matrix(list(result.spec.fixed_names), contrasts)
    if result.df_method == "kenward-roger":
        test = result.kenward_roger.f_test(matrix, result.beta)
        return pd.DataFrame([{"f": test.statistic, "num_df": test.ndf, "den_df": test.ddf,
                              "p": test.p_value}], columns=JOINT_COLUMNS)
    if result.df_method == "bell-mccaffrey":
        raise SpecificationError(
            "a joint F test with CR2 cluster-robust SEs (clubSandwich's Wald_test) is not "
            "available; test the rows one by one, or refit without robust SEs"
        )
    covariance = matrix @ result.vcov_fixed @ matrix.T
    values, vectors = np.linalg.eigh(0.5 * (covariance + covariance.T))
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    keep = values > max(RANK_TOLERANCE * values[0], 0.0)
    rank = int(keep.sum())
    if rank == 0:
        raise SpecificationError("the contrasts have no sampling variance; nothing to test")
    rotated = vectors[:, keep].T @ matrix
    f_value = float(np.sum((rotated @ result.beta) ** 2 / values[keep]) / rank)
    if result.df_method == "satterthwaite":
        den_df = f_test_ddf(denominator_df(result, rotated))
    else:
        den_df = float(np.min(denominator_df(result, matrix)))
    p_value = float(special.fdtrc(rank, den_df, f_value))
    return pd.DataFrame(
        [{"f": f_value, "num_df": rank, "den_df": den_df, "p": p_value}], columns=JOINT_COLUMNS
    )
