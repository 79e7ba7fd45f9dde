"""Grouping levels of a model: codes, nesting, and whether their variances are identifiable.

The levels are built innermost first from the factorised grouping columns. Two checks refuse
designs that cannot be estimated, with lme4's rules (``lme4:::checkNlevels`` and
``lme4:::checkZdims`` with lmer's default controls, checked with lme4 1.1-31): every grouping
factor has at least two groups and fewer groups than observations, and every random-effects
term has fewer random effects (groups x columns) than observations. In R, with the data of
one therapist, ``lmer(wai ~ time + (time | therapist/patient), d)`` stops with "grouping
factors must have > 1 sampled level"; with two sessions per patient,
``lmer(wai ~ time + (time | patient), d)`` stops with "number of observations (=96) <= number
of random effects (=96) for term (time | patient)" while ``(time || patient)`` is fitted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alliance.errors import SpecificationError

#: A factor whose groups occur under several groups of another in at most this share of its
#: groups is read as nested with a few misrecorded rows; above it, as ids that restart.
NEARLY_NESTED = 0.25


@dataclass(frozen=True)
class TermBlock:
    """One random-effects term of a level: its columns and whether they are correlated."""

    names: tuple[str, ...]
    correlated: bool

    @property
    def size(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class LevelSpec:
    """One grouping level (innermost first) with its random-effects design.

    Attributes
    ----------
    name : str
        lme4's name of the grouping factor (``patient:therapist``).
    codes : numpy.ndarray
        Group index (0 .. n_groups-1) of each row.
    labels : numpy.ndarray
        The label of each group, as text.
    parent : numpy.ndarray or None
        Index of the enclosing group at the next level out, per group; None at the top.
    blocks : tuple of TermBlock
        The terms of this level; the relative covariance factor is block diagonal over them.
    z : numpy.ndarray
        The random-effects columns of this level, one row per observation.
    """

    name: str
    codes: np.ndarray
    labels: np.ndarray
    parent: np.ndarray | None
    blocks: tuple[TermBlock, ...]
    z: np.ndarray

    @property
    def n_groups(self) -> int:
        return len(self.labels)

    @property
    def q(self) -> int:
        return int(self.z.shape[1])

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for block in self.blocks for name in block.names)


@dataclass(frozen=True)
class GroupingDraft:
    """A level before nesting is checked: its factor's columns (inner first) and terms."""

    name: str
    grouping: tuple[str, ...]
    codes: np.ndarray
    labels: np.ndarray
    blocks: tuple[TermBlock, ...]
    z: np.ndarray


def group_codes(
    grouping: tuple[str, ...], factors: dict[str, tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """Group index per row and group labels; an interaction ``a:b`` is labelled ``"a1:b1"``.

    Combines the codes of the columns (factorised from their raw values, not their text, so
    that a million rows take milliseconds).
    """
    codes, labels = factors[grouping[0]]
    for name in grouping[1:]:
        inner_codes, inner_labels = factors[name]
        n_pairs = len(labels) * len(inner_labels)
        pairs, combined = unique_inverse(codes * len(inner_labels) + inner_codes, n_pairs)
        outer_of, inner_of = np.divmod(pairs, len(inner_labels))
        # lme4 pastes the factor levels with ':'.
        labels = labels[outer_of] + ":" + inner_labels[inner_of]
        codes = combined.astype(np.int64, copy=False)
    return codes, labels


def unique_inverse(keys: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values of ``keys`` and the index of each key among them.

    As ``numpy.unique(keys, return_inverse=True)``, for integer keys below ``n_keys``.
    """
    if n_keys > 16 * len(keys):
        return np.unique(keys, return_inverse=True)
    # few possible keys: marking those present is several times faster than sorting
    present = np.zeros(n_keys, dtype=bool)
    present[keys] = True
    distinct = np.flatnonzero(present)
    index = np.empty(n_keys, dtype=np.int64)
    index[distinct] = np.arange(len(distinct))
    return distinct, index[keys]


def nest_levels(drafts: list[GroupingDraft]) -> tuple[LevelSpec, ...]:
    """Order the levels innermost first and link each group to its enclosing group.

    Raises
    ------
    SpecificationError
        If a level's groups are not each within one group of the next level out (crossed
        factors), with the nesting to write if ids restart within the outer groups.
    """
    # Innermost level first: more groups means further in; nesting is checked below.
    ordered = sorted(drafts, key=lambda draft: -len(draft.labels))
    levels: list[LevelSpec] = []
    for index, draft in enumerate(ordered):
        parent = None
        if index + 1 < len(ordered):
            parent = _parents(draft, ordered[index + 1])
        levels.append(
            LevelSpec(draft.name, draft.codes, draft.labels, parent, draft.blocks, draft.z)
        )
    return tuple(levels)


def _parents(inner: GroupingDraft, outer: GroupingDraft) -> np.ndarray:
    parent = np.full(len(inner.labels), -1, dtype=np.int64)
    parent[inner.codes] = outer.codes
    if np.array_equal(parent[inner.codes], outer.codes):
        return parent
    raise SpecificationError(_not_nested_message(inner, outer))


def _spans(a: GroupingDraft, b: GroupingDraft) -> np.ndarray:
    """The number of groups of ``b`` that each group of ``a`` occurs in."""
    pairs = np.unique(a.codes * len(b.labels) + b.codes)
    return np.bincount(pairs // len(b.labels), minlength=len(a.labels))


def _nesting(outer: GroupingDraft, inner: GroupingDraft) -> str:
    """The grouping ``outer/inner`` in lme4's syntax, outermost column first."""
    chain = list(reversed(outer.grouping))
    chain += [name for name in reversed(inner.grouping) if name not in chain]
    return "/".join(chain)


def _not_nested_message(more: GroupingDraft, fewer: GroupingDraft) -> str:
    """Why ``more`` (the factor with more groups) is not nested in ``fewer``, and the remedy.

    When most groups of ``more`` lie within one group of ``fewer``, a few rows are read as
    misrecorded and ``more`` as the inner factor. Otherwise the ids of one factor restart
    within the groups of the other (patient "1" under every therapist); the factor whose ids
    restart is the one with fewer distinct ids, whose each id occurs under more groups of the
    other, so it is the inner factor: ``(1 | therapist/patient)``.
    """
    spans = _spans(more, fewer)
    crossing = np.flatnonzero(spans > 1)
    lead = f"grouping factors '{more.name}' and '{fewer.name}' are not nested"
    if len(crossing) <= NEARLY_NESTED * len(more.labels):
        first = int(crossing[0])
        under = np.unique(fewer.codes[more.codes == first])
        shown = ", ".join(f"'{label}'" for label in fewer.labels[under[:5]])
        others = (f"; {len(crossing) - 1} more groups of '{more.name}' do so"
                  if len(crossing) > 1 else "")
        return (
            f"{lead}: group '{more.labels[first]}' of '{more.name}' occurs in {len(under)} "
            f"groups of '{fewer.name}' ({shown}){others}. Crossed designs are not supported. "
            f"If these rows name the wrong {fewer.name}, correct them; if the same "
            f"'{more.name}' id names different groups in different '{fewer.name}' groups, "
            f"write the nesting as outer/inner: (1 | {_nesting(fewer, more)})"
        )
    spans_fewer = _spans(fewer, more)
    widest = int(np.argmax(spans_fewer))
    return (
        f"{lead}: the same '{fewer.name}' ids occur under several '{more.name}' groups "
        f"('{fewer.labels[widest]}' under {spans_fewer[widest]} of {len(more.labels)}). "
        f"Crossed designs are not supported. If '{fewer.name}' ids restart within each "
        f"'{more.name}' (the same id for different groups), write the nesting as "
        f"outer/inner: (1 | {_nesting(more, fewer)})"
    )


def _single_groups(levels: list[LevelSpec]) -> str:
    """``grouping factor 'therapist' has 1 group ('T0')``, for one or more levels."""
    if len(levels) == 1:
        return f"grouping factor '{levels[0].name}' has 1 group ('{levels[0].labels[0]}')"
    names = [f"'{level.name}'" for level in levels]
    return f"grouping factors {', '.join(names[:-1])} and {names[-1]} have 1 group each"


def check_identifiable(levels: tuple[LevelSpec, ...], n_obs: int) -> None:
    """Refuse levels whose variances the data cannot identify, as lme4 does.

    With lmer's default controls lme4 stops when a grouping factor has fewer than two levels
    (``check.nlev.gtr.1``), at least as many levels as observations (``check.nobs.vs.nlev``),
    or a term at least as many random effects as observations (``check.nobs.vs.nRE``:
    "number of observations (=n) <= number of random effects (=k) for term (...)"). The same
    three checks, in that order, over the rows used.

    Raises
    ------
    SpecificationError
        Naming the level, its number of groups and the number of observations.
    """
    single = [level for level in levels if level.n_groups < 2]
    if single:
        names = " and ".join(f"'{level.name}'" for level in single)
        raise SpecificationError(
            f"{_single_groups(single)} in the {n_obs} rows used, so the variance between "
            "groups cannot be estimated (lme4 stops too: 'grouping factors must have > 1 "
            f"sampled level'). Remove the random effects of {names} from the formula (of a "
            "nesting keep the inner factor only, e.g. (time | patient) for (time | "
            "therapist/patient) with one therapist), or fit data with more groups"
        )
    for level in levels:
        if level.n_groups >= n_obs:
            raise SpecificationError(
                f"grouping factor '{level.name}' has {level.n_groups} levels for {n_obs} "
                "observations: with one observation per group its variance cannot be told "
                "apart from the residual variance (lme4 stops too: 'number of levels of each "
                "grouping factor must be < number of observations'). Remove its "
                "random-effects term or group the rows more coarsely"
            )
    for level in levels:
        for block in level.blocks:
            n_effects = level.n_groups * block.size
            if n_effects >= n_obs:
                term = f"({' + '.join(block.names)} | {level.name})"
                raise SpecificationError(
                    f"'{level.name}' has {level.n_groups} groups x {block.size} random "
                    f"effects = {n_effects} random effects in the term {term} for {n_obs} "
                    "observations: the random-effect variances and the residual variance "
                    "cannot all be estimated (lme4 stops too: 'number of observations "
                    f"(={n_obs}) <= number of random effects (={n_effects}) for term "
                    f"{term}'). Keep the random intercept only, use uncorrelated effects "
                    "(x || group), or add observations"
                )
