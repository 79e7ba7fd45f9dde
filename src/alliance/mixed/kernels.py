"""Compiled kernels: per-group cross-products and the level-by-level elimination.

Written by hand in numba because the work is many tiny dense blocks (2x2 to ~12x12, one per
patient): batched ``numpy.linalg`` calls spend their time in call overhead and temporaries on
such blocks, and sparse-matrix libraries do not exploit the strict nesting. Each kernel loops
over groups with explicit index loops and scratch buffers allocated once per call.

Notation (one level, one group ``g``; ``q`` random effects, ``r`` remaining columns):
``S_qq``, ``S_qr`` are the group's cross-products of its own random-effects columns with
themselves and with the remaining columns ``[Z_outer, X, y]`` (raw plus what its children
passed up); ``A = Lambda' S_qq Lambda + I``; ``C = Lambda' S_qr``; ``H = A^{-1} C``.
The group passes ``S_rr(children) - C' H`` to its parent and adds ``log|A|`` to the
log-determinant. The backward (adjoint) kernel differentiates exactly this chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numba import njit, prange
from numba.typed import List

import alliance.mixed.compile_cache  # noqa: F401  (a writable cache before the kernels below)


class LevelState(NamedTuple):
    """One level as the compiled passes read and fill it (innermost level first).

    ``p_stat``, ``r_stat``: the per-group cross-products (:mod:`alliance.mixed.statistics`);
    ``parent``: each group's parent; ``gather``: this level's ``[z, rest]`` columns in the inner
    level's reduced coordinates; ``lam[rows, cols] = params[start:]`` fills the level's relative
    factor; ``child``: the inner level's ``acc`` (when ``has_child``). The passes fill ``acc``
    (the Schur complements passed up), ``ainv`` (``A_g^-1``), ``h`` (``H_g``),
    ``adjoint_child`` and ``grad_lam``.
    """

    p_stat: np.ndarray
    r_stat: np.ndarray
    parent: np.ndarray
    gather: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    start: int
    lam: np.ndarray
    child: np.ndarray
    has_child: bool
    acc: np.ndarray
    ainv: np.ndarray
    h: np.ndarray
    adjoint_child: np.ndarray
    grad_lam: np.ndarray


#: Marker for the passes that eliminate every level on one thread (see :func:`forward_pass`).
SERIAL: tuple[()] = ()
#: Marker for the passes that split levels with many groups over threads.
THREADED: tuple[int] = (0,)
#: Marker for the passes of models with a random intercept and slope (``q = 2``) at every
#: level, the growth models of this field: their loops over the random effects are unrolled.
INTERCEPT_AND_SLOPE: tuple[int, int] = (0, 0)
#: Marker for the passes that read each level's ``q`` from the data (every other model).
ANY_Q: tuple[()] = ()


def blocks_marker(q_per_level: Sequence[int]) -> tuple[()] | tuple[int, int]:
    """The ``blocks`` marker of the passes for a model with these random effects per level.

    Each marker is a version of the passes of its own (compiled the first time a model needs
    it, then cached): a first fit of a growth model compiles only the unrolled kernels (22 s
    instead of 28 s on 2 cores), a model of another kind only the general ones.
    """
    return INTERCEPT_AND_SLOPE if all(q == 2 for q in q_per_level) else ANY_Q


@njit(cache=True)
def accumulate_level(aug, offset, q, rest, codes, strata, n_groups, n_strata):  # pragma: no cover
    """Per group and stratum: ``P = sum z z'`` and ``R = sum z rest'`` over the group's rows.

    ``aug`` is ``[Z_1 ... Z_L, X, y]`` (one row per observation); this level's ``z`` are the
    ``q`` columns from ``offset``; ``rest`` lists the columns of ``aug`` kept as "rest".
    """
    n = aug.shape[0]
    r = rest.shape[0]
    p_out = np.zeros((n_groups, n_strata, q, q))
    r_out = np.zeros((n_groups, n_strata, q, r))
    for row in range(n):
        g = codes[row]
        s = strata[row]
        for i in range(q):
            zi = aug[row, offset + i]
            if zi == 0.0:
                continue
            for j in range(q):
                p_out[g, s, i, j] += zi * aug[row, offset + j]
            for k in range(r):
                r_out[g, s, i, k] += zi * aug[row, rest[k]]
    return p_out, r_out


@njit(cache=True)
def accumulate_top(xy, codes, strata, n_groups, n_strata):  # pragma: no cover
    """Per outermost group and stratum: the upper triangle of ``sum [X, y][X, y]'``."""
    n, m = xy.shape
    t_out = np.zeros((n_groups, n_strata, m, m))
    counts = np.zeros((n_groups, n_strata))
    for row in range(n):
        g = codes[row]
        s = strata[row]
        counts[g, s] += 1.0
        for i in range(m):
            xi = xy[row, i]
            for j in range(i, m):
                t_out[g, s, i, j] += xi * xy[row, j]
    return t_out, counts


@njit(cache=True, inline="always")
def _own_blocks(q, g, p_stat, r_stat, weights, child, has_child, gather, sqq, sqr):  # pragma: no cover
    """The group's ``S_qq`` and ``S_qr``: its own cross-products plus its children's.

    ``child[g]`` is in the inner level's reduced coordinates; ``gather`` maps this level's
    ``[z, rest]`` columns into them.
    """
    n_strata, r = r_stat.shape[1], r_stat.shape[3]
    weight = weights[0]
    for i in range(q):
        for j in range(q):
            sqq[i, j] = weight * p_stat[g, 0, i, j]
        for k in range(r):
            sqr[i, k] = weight * r_stat[g, 0, i, k]
    for s in range(1, n_strata):
        weight = weights[s]
        for i in range(q):
            for j in range(q):
                sqq[i, j] += weight * p_stat[g, s, i, j]
            for k in range(r):
                sqr[i, k] += weight * r_stat[g, s, i, k]
    if has_child:
        own_child = child[g]
        for i in range(q):
            row = own_child[gather[i]]
            for j in range(q):
                sqq[i, j] += row[gather[j]]
            for k in range(r):
                sqr[i, k] += row[gather[q + k]]


@njit(cache=True)
def _forward_groups(
    blocks, p_stat, r_stat, weights, child, has_child, gather, lam, parent, acc, ainv_out,
    h_out,
):  # pragma: no cover
    """Eliminate one level; add each group's Schur complement to its parent in ``acc``.

    Returns the level's ``sum_g log|A_g|``; fills ``ainv_out[g] = A_g^{-1}`` and
    ``h_out[g] = H_g`` for the adjoint pass and for the conditional modes. ``q`` is
    ``len(blocks)`` (:data:`INTERCEPT_AND_SLOPE`), or read from the data (:data:`ANY_Q`).
    numba compiles one version per marker; in the first the loops over the random effects
    have a known trip count and are unrolled (1.5 times as fast on the 2x2 blocks of a random
    intercept and slope as loops over a run-time ``q``). Loops over the ``r`` remaining
    columns are innermost and contiguous. The upper triangle of ``acc`` is accumulated and
    mirrored at the end.
    """
    q = len(blocks) if len(blocks) > 0 else r_stat.shape[2]
    n_groups, r = r_stat.shape[0], r_stat.shape[3]
    sqq = np.empty((q, q))
    sqr = np.empty((q, r))
    tmp = np.empty((q, q))
    chol = np.empty((q, q))
    inverse = np.zeros((q, q))
    inv_diag = np.empty(q)
    half = np.empty((q, r))
    logdet = 0.0
    for g in range(n_groups):
        _own_blocks(q, g, p_stat, r_stat, weights, child, has_child, gather, sqq, sqr)
        # A = Lambda' S_qq Lambda + I (lower triangle), factorised in place: A = L L'
        for i in range(q):
            for j in range(q):
                total = 0.0
                for k in range(q):
                    total += sqq[i, k] * lam[k, j]
                tmp[i, j] = total
        for i in range(q):
            for j in range(i + 1):
                total = 1.0 if i == j else 0.0
                for k in range(q):
                    total += lam[k, i] * tmp[k, j]
                chol[i, j] = total
        product = 1.0
        for j in range(q):
            total = chol[j, j]
            for k in range(j):
                total -= chol[j, k] * chol[j, k]
            diagonal = np.sqrt(total)
            chol[j, j] = diagonal
            inv_diag[j] = 1.0 / diagonal
            # every diagonal is >= 1 (A - I is positive semi-definite): the product is safe
            product *= diagonal
            for i in range(j + 1, q):
                total = chol[i, j]
                for k in range(j):
                    total -= chol[i, k] * chol[j, k]
                chol[i, j] = total * inv_diag[j]
        logdet += 2.0 * np.log(product)
        # half = L^{-1} Lambda' S_qr, so that C' A^{-1} C = half' half
        for i in range(q):
            for k in range(r):
                half[i, k] = 0.0
            for j in range(q):
                factor = lam[j, i]
                if factor != 0.0:
                    for k in range(r):
                        half[i, k] += factor * sqr[j, k]
            for m in range(i):
                factor = chol[i, m]
                for k in range(r):
                    half[i, k] -= factor * half[m, k]
            for k in range(r):
                half[i, k] *= inv_diag[i]
        block = acc[parent[g]]
        for i in range(q):
            for k1 in range(r):
                value = half[i, k1]
                for k2 in range(k1, r):
                    block[k1, k2] -= value * half[i, k2]
        if has_child:
            own_child = child[g]
            for k1 in range(r):
                row = own_child[gather[q + k1]]
                for k2 in range(k1, r):
                    block[k1, k2] += row[gather[q + k2]]
        # H = L'^{-1} half
        h_group = h_out[g]
        for i in range(q - 1, -1, -1):
            for k in range(r):
                h_group[i, k] = half[i, k]
            for m in range(i + 1, q):
                factor = chol[m, i]
                for k in range(r):
                    h_group[i, k] -= factor * h_group[m, k]
            for k in range(r):
                h_group[i, k] *= inv_diag[i]
        # A^{-1} = W' W with W = L^{-1} (lower triangular)
        for i in range(q):
            inverse[i, i] = inv_diag[i]
            for j in range(i):
                total = 0.0
                for m in range(j, i):
                    total += chol[i, m] * inverse[m, j]
                inverse[i, j] = -total * inv_diag[i]
        ainv_group = ainv_out[g]
        for i in range(q):
            for j in range(i + 1):
                total = 0.0
                for m in range(i, q):
                    total += inverse[m, i] * inverse[m, j]
                ainv_group[i, j] = total
                ainv_group[j, i] = total
    for target in range(acc.shape[0]):
        for k1 in range(r):
            for k2 in range(k1 + 1, r):
                acc[target, k2, k1] = acc[target, k1, k2]
    return logdet


@njit(cache=True)
def _backward_groups(
    blocks, p_stat, r_stat, weights, child, has_child, gather, lam, parent, adjoint_parent,
    ainv, h, logdet_weight, grad_lam, grad_weights, adjoint_child,
):  # pragma: no cover
    """Adjoint of :func:`_forward_groups` (``q`` given by ``blocks`` as there).

    ``adjoint_parent[parent[g]]`` is d f / d(acc) (symmetric, trace convention) for what the
    group passed up. Adds ``d f / d Lambda`` to ``grad_lam`` and ``d f / d w_s`` to
    ``grad_weights``; when there are children, adds d f / d(child[g]) to ``adjoint_child[g]``
    (zeros on entry; entries that share a column through ``gather`` are summed).
    """
    q = len(blocks) if len(blocks) > 0 else r_stat.shape[2]
    n_groups, n_strata, r = r_stat.shape[0], r_stat.shape[1], r_stat.shape[3]
    sqq = np.empty((q, q))
    sqr = np.empty((q, r))
    hg = np.empty((q, r))
    abar = np.empty((q, q))
    tmp = np.empty((q, q))
    lal = np.empty((q, q))
    lhg = np.empty((q, r))
    for g in range(n_groups):
        gb = adjoint_parent[parent[g]]
        h_group = h[g]
        ainv_group = ainv[g]
        _own_blocks(q, g, p_stat, r_stat, weights, child, has_child, gather, sqq, sqr)
        # HG = H Gbar
        for i in range(q):
            for k in range(r):
                hg[i, k] = 0.0
            for j in range(r):
                factor = h_group[i, j]
                for k in range(r):
                    hg[i, k] += factor * gb[j, k]
        # Abar = w A^{-1} + H Gbar H'
        for i in range(q):
            for j in range(q):
                total = logdet_weight * ainv_group[i, j]
                for k in range(r):
                    total += hg[i, k] * h_group[j, k]
                abar[i, j] = total
        # d f / d Lambda = 2 S_qq Lambda Abar + S_qr Cbar',  Cbar = -2 H Gbar
        for i in range(q):
            for j in range(q):
                total = 0.0
                for k in range(q):
                    total += lam[i, k] * abar[k, j]
                tmp[i, j] = total
        for i in range(q):
            for j in range(q):
                total = 0.0
                for k in range(q):
                    total += sqq[i, k] * tmp[k, j]
                for k in range(r):
                    total -= sqr[i, k] * hg[j, k]
                grad_lam[i, j] += 2.0 * total
        if not has_child and n_strata == 1:
            continue
        for i in range(q):
            for j in range(q):
                total = 0.0
                for k in range(q):
                    total += tmp[i, k] * lam[j, k]
                lal[i, j] = total
            for k in range(r):
                lhg[i, k] = 0.0
            for j in range(q):
                factor = lam[i, j]
                if factor != 0.0:
                    for k in range(r):
                        lhg[i, k] += factor * hg[j, k]
        if n_strata > 1:
            for s in range(n_strata):
                total = 0.0
                for i in range(q):
                    for j in range(q):
                        total += lal[i, j] * p_stat[g, s, i, j]
                    for k in range(r):
                        total -= 2.0 * lhg[i, k] * r_stat[g, s, i, k]
                grad_weights[s] += total
        if has_child:
            own_adjoint = adjoint_child[g]
            for i in range(q):
                row = gather[i]
                for j in range(q):
                    own_adjoint[row, gather[j]] += lal[i, j]
                for k in range(r):
                    column = gather[q + k]
                    own_adjoint[row, column] -= lhg[i, k]
                    own_adjoint[column, row] -= lhg[i, k]
            for k1 in range(r):
                row = gather[q + k1]
                for k2 in range(r):
                    own_adjoint[row, gather[q + k2]] += gb[k1, k2]


@njit(cache=True, parallel=True)
def forward_level(
    blocks, p_stat, r_stat, weights, child, has_child, gather, lam, parent, acc, ainv_out,
    h_out, n_chunks,
):  # pragma: no cover
    """:func:`_forward_groups` on one thread, or over ``n_chunks`` blocks of groups in threads.

    Each block accumulates into a private copy of ``acc``; the copies are summed at the end.
    Compiled only into the :data:`THREADED` passes.
    """
    if n_chunks == 1:
        return _forward_groups(
            blocks, p_stat, r_stat, weights, child, has_child, gather, lam, parent, acc,
            ainv_out, h_out,
        )
    n_groups = p_stat.shape[0]
    partial = np.zeros((n_chunks, acc.shape[0], acc.shape[1], acc.shape[2]))
    logdets = np.zeros(n_chunks)
    for chunk in prange(n_chunks):
        first = chunk * n_groups // n_chunks
        last = (chunk + 1) * n_groups // n_chunks
        own_child = child[first:last] if has_child else child
        logdets[chunk] = _forward_groups(
            blocks, p_stat[first:last], r_stat[first:last], weights, own_child, has_child, gather, lam,
            parent[first:last], partial[chunk], ainv_out[first:last], h_out[first:last],
        )
    for chunk in range(n_chunks):
        acc += partial[chunk]
    return logdets.sum()


@njit(cache=True, parallel=True)
def backward_level(
    blocks, p_stat, r_stat, weights, child, has_child, gather, lam, parent, adjoint_parent,
    ainv, h, logdet_weight, grad_lam, grad_weights, adjoint_child, n_chunks,
):  # pragma: no cover
    """:func:`_backward_groups` on one thread, or over ``n_chunks`` blocks of groups."""
    if n_chunks == 1:
        _backward_groups(
            blocks, p_stat, r_stat, weights, child, has_child, gather, lam, parent, adjoint_parent, ainv,
            h, logdet_weight, grad_lam, grad_weights, adjoint_child,
        )
        return
    n_groups = p_stat.shape[0]
    partial_lam = np.zeros((n_chunks, grad_lam.shape[0], grad_lam.shape[1]))
    partial_weights = np.zeros((n_chunks, grad_weights.shape[0]))
    for chunk in prange(n_chunks):
        first = chunk * n_groups // n_chunks
        last = (chunk + 1) * n_groups // n_chunks
        own_child = child[first:last] if has_child else child
        own_adjoint = adjoint_child[first:last] if has_child else adjoint_child
        _backward_groups(
            blocks, p_stat[first:last], r_stat[first:last], weights, own_child, has_child, gather, lam,
            parent[first:last], adjoint_parent, ainv[first:last], h[first:last], logdet_weight,
            partial_lam[chunk], partial_weights[chunk], own_adjoint,
        )
    for chunk in range(n_chunks):
        grad_lam += partial_lam[chunk]
        grad_weights += partial_weights[chunk]


@njit(cache=True)
def level_list(levels):  # pragma: no cover
    """The :class:`LevelState` records as a typed list.

    The passes take a list rather than a tuple, whose type would include the number of levels:
    with a list they are compiled once for every model, not once per depth of nesting (tens
    of seconds each). Built in compiled code because a typed list built from Python costs
    about 0.1 ms per element.
    """
    out = List()
    for index in range(len(levels)):
        out.append(levels[index])
    return out


@njit(cache=True)
def forward_pass(
    threads, blocks, levels, params, weights, t_stack, expand_top, n_fixed, parallel_min_groups,
    n_threads, first_level,
):  # pragma: no cover
    """Eliminate every level, innermost first, then profile out ``beta``: one compiled call.

    ``levels`` holds a :class:`LevelState` per level (the same types at every level, so that
    one compiled version serves every model). Fills each level's factor ``lam`` from
    ``params``, ``acc``, ``ainv`` and ``h``; levels with at least
    ``parallel_min_groups`` groups are split over ``n_threads`` threads when ``threads`` is
    :data:`THREADED` (with :data:`SERIAL` every level is eliminated on one thread); ``blocks``
    (:func:`blocks_marker`) says which kernels eliminate a level. Returns ``log|L|^2``
    followed by what :func:`finish_top` returns.

    With ``first_level > 0`` the levels inside it are not eliminated again: their buffers must
    hold an elimination with the same parameters of theirs and the same ``weights`` (what
    the outer levels receive from them is unchanged), and ``log|L|^2`` is then the outer
    levels' part only.
    """
    log_det_l = 0.0
    for index in range(first_level, len(levels)):
        level = levels[index]
        level.lam[:] = 0.0
        for k in range(level.rows.shape[0]):
            level.lam[level.rows[k], level.cols[k]] = params[level.start + k]
        level.acc[:] = 0.0
        n_chunks = n_threads if level.p_stat.shape[0] >= parallel_min_groups else 1
        # len(threads) is a compile-time constant: numba prunes the branch not taken before
        # typing it, so the serial passes never compile the threaded kernels
        if len(threads) == 0:
            log_det_l += _forward_groups(
                blocks, level.p_stat, level.r_stat, weights, level.child, level.has_child, level.gather,
                level.lam, level.parent, level.acc, level.ainv, level.h,
            )
        else:
            log_det_l += forward_level(
                blocks, level.p_stat, level.r_stat, weights, level.child, level.has_child, level.gather,
                level.lam, level.parent, level.acc, level.ainv, level.h, n_chunks,
            )
    t_final, beta, r2, log_det_rx, txx_inverse, positive = finish_top(
        t_stack, weights, levels[len(levels) - 1].acc, expand_top, n_fixed
    )
    return log_det_l, t_final, beta, r2, log_det_rx, txx_inverse, positive


@njit(cache=True)
def backward_pass(
    threads, blocks, levels, weights, t_stack, beta, txx_inverse, expand_top, logdet_weight,
    rx_weight, r2_weight, n_theta, parallel_min_groups, n_threads, first_level,
):  # pragma: no cover
    """Gradient of ``a log|L|^2 + b log|R_X|^2 + c r2`` by the adjoint of :func:`forward_pass`.

    Runs :func:`top_adjoint`, then the levels outermost first down to ``first_level``, in one
    compiled call. Returns d f / d theta and d f / d w_s. With ``first_level > 0`` only the
    theta of the levels from ``first_level`` outwards are filled (the others are 0) and d f /
    d w_s lacks the inner levels' part: what the gradient of an outer level's parameters
    needs, after :func:`forward_pass` with the same ``first_level``.
    """
    n_rest_top = levels[len(levels) - 1].acc.shape[1]
    adjoint, grad_weights = top_adjoint(
        t_stack, beta, txx_inverse, expand_top, n_rest_top, r2_weight, rx_weight
    )
    grad_theta = np.zeros(n_theta)
    for index in range(len(levels) - 1, first_level - 1, -1):
        level = levels[index]
        level.adjoint_child[:] = 0.0
        level.grad_lam[:] = 0.0
        n_chunks = n_threads if level.p_stat.shape[0] >= parallel_min_groups else 1
        if len(threads) == 0:  # a compile-time constant, as in forward_pass
            _backward_groups(
                blocks, level.p_stat, level.r_stat, weights, level.child, level.has_child, level.gather,
                level.lam, level.parent, adjoint, level.ainv, level.h, logdet_weight,
                level.grad_lam, grad_weights, level.adjoint_child,
            )
        else:
            backward_level(
                blocks, level.p_stat, level.r_stat, weights, level.child, level.has_child, level.gather,
                level.lam, level.parent, adjoint, level.ainv, level.h, logdet_weight,
                level.grad_lam, grad_weights, level.adjoint_child, n_chunks,
            )
        for k in range(level.rows.shape[0]):
            grad_theta[level.start + k] = level.grad_lam[level.rows[k], level.cols[k]]
        adjoint = level.adjoint_child
    return grad_theta, grad_weights


@njit(cache=True)
def _cholesky_lower(matrix):  # pragma: no cover
    n = matrix.shape[0]
    chol = np.zeros((n, n))
    for j in range(n):
        total = matrix[j, j]
        for k in range(j):
            total -= chol[j, k] * chol[j, k]
        if total <= 0.0:
            return chol, False
        chol[j, j] = np.sqrt(total)
        for i in range(j + 1, n):
            total = matrix[i, j]
            for k in range(j):
                total -= chol[i, k] * chol[j, k]
            chol[i, j] = total / chol[j, j]
    return chol, True


@njit(cache=True)
def _cholesky_inverse(chol):  # pragma: no cover
    n = chol.shape[0]
    inverse = np.zeros((n, n))
    column = np.empty(n)
    for c in range(n):
        for i in range(n):
            total = 1.0 if i == c else 0.0
            for k in range(i):
                total -= chol[i, k] * column[k]
            column[i] = total / chol[i, i]
        for i in range(n - 1, -1, -1):
            total = column[i]
            for k in range(i + 1, n):
                total -= chol[k, i] * inverse[k, c]
            inverse[i, c] = total / chol[i, i]
    return inverse


@njit(cache=True)
def finish_top(t_stack, weights, acc_top, expand, n_fixed):  # pragma: no cover
    """Profile out ``beta`` at the top: ``T = sum_s w_s T_s + (outermost Schur complements)``.

    Returns ``T``, ``beta``, the penalized RSS ``r2``, ``log|R_X|^2``, ``(X'V^-1 X)^-1`` (per
    unit sigma^2) and whether ``X'V^-1 X`` was positive definite.
    """
    m = t_stack.shape[1]
    t_final = np.zeros((m, m))
    for i in range(m):
        for j in range(i, m):
            total = 0.0
            for s in range(t_stack.shape[0]):
                total += weights[s] * t_stack[s, i, j]
            total += acc_top[0, expand[i], expand[j]]
            t_final[i, j] = total
            t_final[j, i] = total
    p = n_fixed
    chol, ok = _cholesky_lower(t_final[:p, :p].copy())
    beta = np.zeros(p)
    if not ok:
        return t_final, beta, np.inf, np.inf, np.zeros((p, p)), False
    inverse = _cholesky_inverse(chol)
    for i in range(p):
        total = 0.0
        for j in range(p):
            total += inverse[i, j] * t_final[j, p]
        beta[i] = total
    r2 = t_final[p, p]
    for i in range(p):
        r2 -= t_final[i, p] * beta[i]
    log_det_rx = 0.0
    for i in range(p):
        log_det_rx += 2.0 * np.log(chol[i, i])
    return t_final, beta, r2, log_det_rx, inverse, True


@njit(cache=True)
def top_adjoint(t_stack, beta, txx_inverse, expand, n_rest, r2_weight, rx_weight):  # pragma: no cover
    """Adjoint of :func:`finish_top` for ``c r2 + b log|R_X|^2``.

    Returns d f / d(outermost Schur complements) in reduced coordinates (``1 x r x r``) and
    d f / d w_s from the raw ``T_s``.
    """
    p = beta.shape[0]
    m = p + 1
    top = np.zeros((m, m))
    for i in range(p):
        for j in range(p):
            top[i, j] = r2_weight * beta[i] * beta[j] + rx_weight * txx_inverse[i, j]
        top[i, p] = -r2_weight * beta[i]
        top[p, i] = -r2_weight * beta[i]
    top[p, p] = r2_weight
    adjoint = np.zeros((1, n_rest, n_rest))
    for i in range(m):
        for j in range(m):
            adjoint[0, expand[i], expand[j]] += top[i, j]
    n_strata = t_stack.shape[0]
    grad_weights = np.zeros(n_strata)
    for s in range(n_strata):
        total = 0.0
        for i in range(m):
            total += top[i, i] * t_stack[s, i, i]
            for j in range(i + 1, m):
                total += 2.0 * top[i, j] * t_stack[s, i, j]
        grad_weights[s] = total
    return adjoint, grad_weights
