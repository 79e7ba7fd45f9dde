"""Naming the therapist factors from evidence the user supplied: marker items or a target pattern.

The factors of an exploratory factor analysis come in arbitrary order and sign; which one is
Personal Burdens is a claim, and the study's conclusions hang on it. A factor is named here
only from evidence given in the configuration:

- marker items (``factors.satisfaction_items``, ``factors.burden_items``): a binary target,
  1 for a marker on its own factor and 0 on the other, over the marker items only; or
- a target loading pattern (``factors.target``): the expected loadings of some or all items.

Each named factor is matched to the rotated pattern by Tucker's congruence coefficient over
the target's items, ``phi(x, t) = sum(x t) / sqrt(sum(x^2) sum(t^2))`` (Tucker, 1951;
Lorenzo-Seva & ten Berge, 2006: ``phi >= .95`` means the factors can be considered equal,
``.85 <= phi < .95`` fair similarity, lower no similarity). Of the assignments of EFA columns to
the names, the one with the largest sum of absolute congruences is taken, and each column is
signed so that its congruence is positive. The naming is refused unless every factor's
congruence reaches ``min_congruence`` (``factors.min_congruence``, default .85) and every
salient target item (a marker, or an item whose target loading of at least .30 in absolute value
is largest on one factor) loads more on its own factor than on the other, with the target's
sign. The refusal names the items in conflict and the configuration keys that settle it.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from alliance.errors import SpecificationError

#: Lorenzo-Seva & ten Berge (2006): below this congruence two factors are not similar.
MIN_CONGRUENCE = 0.85
#: A target item is salient for the factor its largest absolute target loading is on, if at least this.
SALIENT_TARGET = 0.30
#: Configuration keys that hold the evidence, named in messages.
MARKER_KEYS = "factors.satisfaction_items and factors.burden_items"
TARGET_KEY = "factors.target"


@dataclass(frozen=True)
class NamingTarget:
    """The evidence for the names: a target pattern over some of the items.

    Attributes
    ----------
    names
        The factor names, in the order of the target's columns.
    items
        The items the target specifies.
    loadings
        ``len(items) x len(names)`` target loadings.
    source
        The configuration keys the target came from, for messages and the report.
    """

    names: tuple[str, ...]
    items: tuple[str, ...]
    loadings: np.ndarray
    source: str

    @classmethod
    def from_markers(cls, names: Sequence[str], markers: Sequence[Sequence[str]]) -> NamingTarget:
        """Binary target of marker items: 1 on the marker's own factor, 0 elsewhere."""
        items = tuple(item for group in markers for item in group)
        loadings = np.zeros((len(items), len(names)))
        row = 0
        for column, group in enumerate(markers):
            loadings[row : row + len(group), column] = 1.0
            row += len(group)
        return cls(tuple(names), items, loadings, MARKER_KEYS)

    @classmethod
    def from_pattern(cls, names: Sequence[str], pattern: Mapping[str, Sequence[float]]
                     ) -> NamingTarget:
        """A target pattern ``{item: [loading per name]}``."""
        items = tuple(pattern)
        loadings = np.array([list(pattern[item]) for item in items], dtype=float)
        return cls(tuple(names), items, loadings.reshape(len(items), len(names)), TARGET_KEY)

    def salient(self) -> list[tuple[str, int, float]]:
        """``(item, factor column, target sign)`` of each salient target item."""
        out = []
        for item, row in zip(self.items, self.loadings, strict=True):
            column = int(np.argmax(np.abs(row)))
            if abs(row[column]) >= SALIENT_TARGET:
                out.append((item, column, float(np.sign(row[column]))))
        return out


@dataclass(frozen=True)
class FactorNaming:
    """How the EFA's columns were named: the matching and the evidence for each name.

    Attributes
    ----------
    order
        EFA column of each name (in the target's order of names).
    signs
        Sign (+1/-1) applied to each named column.
    congruence
        Tucker congruence of each named, signed column with its target column.
    target
        The evidence.
    min_congruence
        The smallest congruence accepted.
    marker_loadings
        ``{item: [signed loading on each named factor]}`` for the target's items.
    """

    order: tuple[int, ...]
    signs: np.ndarray
    congruence: np.ndarray
    target: NamingTarget
    min_congruence: float
    marker_loadings: dict[str, list[float]]

    def to_dict(self) -> dict[str, Any]:
        """The ``efa.naming`` section of results.json."""
        names = self.target.names
        salient = self.target.salient()
        return {
            "evidence": self.target.source,
            "min_congruence": self.min_congruence,
            "factors": [
                {
                    "factor": name,
                    "efa_factor": self.order[d] + 1,
                    "sign": int(self.signs[d]),
                    "congruence": float(self.congruence[d]),
                    "markers": [
                        {"item": item, "target": float(self.target.loadings[
                            self.target.items.index(item), d]),
                         **dict(zip(names, self.marker_loadings[item], strict=True))}
                        for item, column, _ in salient if column == d
                    ],
                }
                for d, name in enumerate(names)
            ],
        }


def congruence(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Tucker's congruence coefficients between the columns of ``x`` and those of ``y``.

    ``phi[i, j] = x_i . y_j / sqrt((x_i . x_i)(y_j . y_j))`` (Tucker, 1951); 0 for a zero column.
    """
    norms = np.outer(np.sqrt(np.sum(x * x, axis=0)), np.sqrt(np.sum(y * y, axis=0)))
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = (x.T @ y) / norms
    return np.where(norms > 0, phi, 0.0)


def name_factors(pattern: np.ndarray, items: Sequence[str], target: NamingTarget,
                 min_congruence: float = MIN_CONGRUENCE) -> FactorNaming:
    """Match the EFA's columns to the target's names (see the module docstring).

    Parameters
    ----------
    pattern
        Rotated pattern loadings, items x factors, in the order of ``items``.
    items
        The analysed items.
    target
        The evidence: marker items or a target pattern over some of ``items``.
    min_congruence
        The smallest Tucker congruence accepted for a name.

    Raises
    ------
    SpecificationError
        The target names items that were not analysed, a factor's congruence is below
        ``min_congruence``, or a salient target item loads more on another factor or with the
        wrong sign; the message names the items and the configuration keys to correct.
    """
    position = {item: i for i, item in enumerate(items)}
    unknown = [item for item in target.items if item not in position]
    if unknown:
        raise SpecificationError(
            f"{target.source} name items that were not analysed ({', '.join(unknown)}); "
            f"list item ids of the QPL instrument ({', '.join(items)})."
        )
    rows = pattern[[position[item] for item in target.items]]
    phi = congruence(rows, target.loadings)
    n_names = len(target.names)
    best = max(itertools.permutations(range(pattern.shape[1]), n_names),
               key=lambda perm: sum(abs(phi[perm[d], d]) for d in range(n_names)))
    order = tuple(int(k) for k in best)
    signs = np.array([1.0 if phi[order[d], d] >= 0 else -1.0 for d in range(n_names)])
    named = pattern[:, list(order)] * signs
    naming = FactorNaming(
        order=order,
        signs=signs,
        congruence=np.array([abs(phi[order[d], d]) for d in range(n_names)]),
        target=target,
        min_congruence=float(min_congruence),
        marker_loadings={item: named[position[item]].tolist() for item in target.items},
    )
    _check(naming)
    return naming


def _check(naming: FactorNaming) -> None:
    """Refuse a naming whose evidence is weak or contradicted (see the module docstring)."""
    names, target = naming.target.names, naming.target
    problems = [
        f"{name} matches its target with Tucker congruence {naming.congruence[d]:.2f}, "
        f"below {naming.min_congruence:.2f}"
        for d, name in enumerate(names) if naming.congruence[d] < naming.min_congruence
    ]
    conflicts = []
    for item, column, sign in target.salient():
        loadings = np.asarray(naming.marker_loadings[item])
        own = loadings[column]
        other = np.delete(np.abs(loadings), column).max(initial=0.0)
        if abs(own) <= other or np.sign(own) != sign:
            shown = ", ".join(f"{n} {v:.2f}" for n, v in zip(names, loadings, strict=True))
            conflicts.append(f"{item} (marks {names[column]}; loadings {shown})")
    if conflicts:
        problems.append("items that load more on the other factor, or with the wrong sign: "
                        + "; ".join(conflicts))
    if problems:
        raise SpecificationError(
            f"cannot tell which factor is which from {target.source}: "
            + "; ".join(problems)
            + f". Check the items against your codebook and correct {target.source}"
            + (f" (or give a target loading pattern in {TARGET_KEY})"
               if target.source == MARKER_KEYS else "")
            + "; factors.min_congruence sets the congruence required."
        )
