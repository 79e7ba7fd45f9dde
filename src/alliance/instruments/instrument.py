"""A questionnaire as data: items, response range, subscales, reverse keys and scoring rules.

An :class:`Instrument` is built from the contents of a TOML definition file (see
``alliance/instruments/definitions/`` for the shipped ones and the format). Building it
checks the definition's structure; whether its scoring key is complete enough to score
is a separate question (:meth:`Instrument.key_problems`), because templates such as the
full 36-item WAI ship without a key for the user to complete.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, cast

from alliance.errors import SpecificationError

Rater = Literal["patient", "therapist"]
Method = Literal["mean", "sum"]

_RATERS = ("patient", "therapist")
_METHODS = ("mean", "sum")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KNOWN_KEYS = {
    "name",
    "title",
    "citation",
    "rater",
    "template",
    "notes",
    "items",
    "item_prefix",
    "item_count",
    "item_notes",
    "reverse_keyed",
    "response",
    "scoring",
    "subscales",
}

_SCORING_KEYS = {
    "method",
    "subscale_max_missing",
    "total",
    "total_max_missing",
    "one_subscale_per_item",
}


@dataclass(frozen=True)
class Subscale:
    """A named group of items whose (keyed) responses are combined into one score."""

    name: str
    label: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Instrument:
    """A questionnaire definition. Build it with :func:`instrument_from_dict` or load one
    with :func:`alliance.instruments.load_instrument`.

    Attributes
    ----------
    name, title, citation, rater
        Identity: ``rater`` is who fills in the form (``"patient"`` or ``"therapist"``).
    items
        Canonical item ids, in form order; also the expected column names of wide data.
    response_min, response_max, response_labels
        The response scale: whole numbers from ``response_min`` to ``response_max``.
    reverse_keyed
        Items scored as ``response_min + response_max - x``.
    subscales
        Scores combining items with ``method`` (``"mean"`` or ``"sum"``).
    subscale_max_missing
        A subscale with at most this many missing items is prorated (mean of the answered
        items; for sums, that mean times the number of items); with more it is missing.
    total, total_max_missing
        Whether a total over all items is scored, and its missing-item limit.
    one_subscale_per_item
        The key assigns every item to exactly one subscale (as in all WAI forms).
    template
        The definition is a template: its key (or its factor structure) is left to the user.
    notes, item_notes
        Documentation: what the definition does and does not establish, per-item content.
    source
        Where the definition was read from.
    """

    name: str
    title: str
    citation: str
    rater: Rater
    items: tuple[str, ...]
    response_min: int
    response_max: int
    response_labels: Mapping[int, str]
    reverse_keyed: tuple[str, ...]
    subscales: tuple[Subscale, ...]
    method: Method
    subscale_max_missing: int
    total: bool
    total_max_missing: int
    one_subscale_per_item: bool
    template: bool
    notes: str = ""
    item_notes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    source: str = ""

    def key_problems(self) -> tuple[str, ...]:
        """Why this definition cannot be used for scoring yet (empty when it can)."""
        problems = [
            f"subscale {sub.name!r} has no items" for sub in self.subscales if not sub.items
        ]
        if self.one_subscale_per_item and self.subscales:
            counts = {item: 0 for item in self.items}
            for sub in self.subscales:
                for item in sub.items:
                    counts[item] += 1
            unkeyed = [item for item, n in counts.items() if n == 0]
            repeated = [item for item, n in counts.items() if n > 1]
            if unkeyed:
                problems.append(f"items in no subscale: {_some(unkeyed)}")
            if repeated:
                problems.append(f"items in more than one subscale: {_some(repeated)}")
        return tuple(problems)

    def require_scorable(self) -> None:
        """Raise :class:`SpecificationError` if :meth:`key_problems` finds any, saying how to
        complete the key."""
        problems = self.key_problems()
        if problems:
            raise SpecificationError(
                f"instrument {self.name} cannot be scored: its scoring key is not complete ("
                + "; ".join(problems)
                + f"). It is a template: copy {self.source}, complete its subscales' items "
                "and reverse_keyed from the authors' scoring key, and score with the copy's "
                "path."
            )

    def score_names(self) -> tuple[str, ...]:
        """Names of the scores this instrument produces: subscales, then ``total`` if scored."""
        return tuple(sub.name for sub in self.subscales) + (("total",) if self.total else ())


def _some(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" ... ({len(items)} in all)" if len(items) > limit else "")


def instrument_from_dict(data: Mapping[str, Any], *, source: str) -> Instrument:
    """Build an :class:`Instrument` from the parsed contents of a definition file.

    Raises
    ------
    SpecificationError
        Naming ``source`` and the offending key, for any structural problem: unknown keys,
        wrong types, duplicate or unknown item ids, an empty response range, labels outside
        it, an unknown rater or scoring method.
    """
    where = f"instrument definition {source}"
    unknown = sorted(set(data) - _KNOWN_KEYS)
    if unknown:
        raise SpecificationError(
            f"{where}: unknown keys {unknown}. Known keys: {sorted(_KNOWN_KEYS)}."
        )
    name = _string(data, "name", where)
    if not _NAME.match(name):
        raise SpecificationError(
            f"{where}: name {name!r} must be lower case letters, digits, '-' or '_'."
        )
    rater = _string(data, "rater", where)
    if rater not in _RATERS:
        raise SpecificationError(f"{where}: rater must be one of {_RATERS}, not {rater!r}.")

    items = _items(data, where)
    response = _table(data, "response", where)
    _known(response, {"min", "max", "labels"}, "response", where)
    low, high = _integer(response, "min", where), _integer(response, "max", where)
    if low >= high:
        raise SpecificationError(f"{where}: response min ({low}) must be below max ({high}).")
    labels = _labels(response.get("labels", {}), low, high, where)

    reverse = _item_list(data.get("reverse_keyed", []), "reverse_keyed", items, where)
    scoring = _table(data, "scoring", where)
    _known(scoring, _SCORING_KEYS, "scoring", where)
    method = scoring.get("method", "mean")
    if method not in _METHODS:
        raise SpecificationError(
            f"{where}: scoring.method must be one of {_METHODS}, not {method!r}."
        )
    subscales = tuple(
        _subscale(sub_name, sub, items, where)
        for sub_name, sub in _table(data, "subscales", where, required=False).items()
    )
    total = scoring.get("total", False)
    if not isinstance(total, bool):
        raise SpecificationError(f"{where}: scoring.total must be true or false.")
    item_notes = data.get("item_notes", {})
    if not isinstance(item_notes, Mapping) or not all(
        isinstance(v, str) for v in item_notes.values()
    ):
        raise SpecificationError(f"{where}: item_notes must map item ids to text.")
    _item_list(list(item_notes), "item_notes", items, where)

    return Instrument(
        name=name,
        title=_string(data, "title", where),
        citation=_string(data, "citation", where),
        rater=cast(Rater, rater),
        items=items,
        response_min=low,
        response_max=high,
        response_labels=MappingProxyType(labels),
        reverse_keyed=reverse,
        subscales=subscales,
        method=method,
        subscale_max_missing=_count(scoring, "subscale_max_missing", where),
        total=total,
        total_max_missing=_count(scoring, "total_max_missing", where),
        one_subscale_per_item=_flag(scoring, "one_subscale_per_item", where),
        template=_flag(data, "template", where),
        notes=str(data.get("notes", "")).strip(),
        item_notes=MappingProxyType(dict(item_notes)),
        source=source,
    )


def _items(data: Mapping[str, Any], where: str) -> tuple[str, ...]:
    if "items" in data:
        if "item_prefix" in data or "item_count" in data:
            raise SpecificationError(
                f"{where}: give either items or item_prefix with item_count, not both."
            )
        raw = data["items"]
        if not isinstance(raw, list) or not raw or not all(isinstance(i, str) for i in raw):
            raise SpecificationError(f"{where}: items must be a non-empty list of item ids.")
        items = tuple(raw)
    else:
        prefix = _string(data, "item_prefix", where)
        count = _integer(data, "item_count", where)
        if count < 1:
            raise SpecificationError(f"{where}: item_count must be at least 1, not {count}.")
        items = tuple(f"{prefix}{number}" for number in range(1, count + 1))
    duplicates = sorted({item for item in items if items.count(item) > 1})
    if duplicates:
        raise SpecificationError(f"{where}: item ids listed more than once: {duplicates}.")
    bad = [item for item in items if not _IDENTIFIER.match(item)]
    if bad:
        raise SpecificationError(
            f"{where}: item ids must be letters, digits and '_' (not starting with a digit): {bad}."
        )
    return items


def _subscale(name: str, sub: Any, items: tuple[str, ...], where: str) -> Subscale:
    if not isinstance(sub, Mapping):
        raise SpecificationError(f"{where}: subscales.{name} must be a table.")
    if not _IDENTIFIER.match(name) or name in {"total", "n_missing"}:
        raise SpecificationError(
            f"{where}: subscale name {name!r} must be an identifier other than 'total' and "
            "'n_missing'."
        )
    _known(sub, {"items", "label"}, f"subscales.{name}", where)
    members = _item_list(sub.get("items", []), f"subscales.{name}.items", items, where)
    label = sub.get("label", name)
    if not isinstance(label, str):
        raise SpecificationError(f"{where}: subscales.{name}.label must be text.")
    return Subscale(name=name, label=label, items=members)


def _item_list(raw: Any, key: str, items: tuple[str, ...], where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(i, str) for i in raw):
        raise SpecificationError(f"{where}: {key} must be a list of item ids.")
    unknown = [item for item in raw if item not in items]
    if unknown:
        raise SpecificationError(
            f"{where}: {key} names items that are not among the instrument's items: {unknown}."
        )
    duplicates = sorted({item for item in raw if raw.count(item) > 1})
    if duplicates:
        raise SpecificationError(f"{where}: {key} lists items more than once: {duplicates}.")
    return tuple(raw)


def _labels(raw: Any, low: int, high: int, where: str) -> dict[int, str]:
    if not isinstance(raw, Mapping):
        raise SpecificationError(f"{where}: response.labels must map responses to text.")
    labels: dict[int, str] = {}
    for key, text in raw.items():
        try:
            value = int(key)
        except ValueError:
            raise SpecificationError(
                f"{where}: response.labels key {key!r} is not a whole number."
            ) from None
        if not low <= value <= high or not isinstance(text, str):
            raise SpecificationError(
                f"{where}: response.labels entry {key!r} = {text!r} must be text for a "
                f"response from {low} to {high}."
            )
        labels[value] = text
    return dict(sorted(labels.items()))


def _known(table: Mapping[str, Any], known: set[str], key: str, where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise SpecificationError(
            f"{where}: unknown keys in [{key}]: {unknown}. Known keys: {sorted(known)}."
        )


def _table(
    data: Mapping[str, Any], key: str, where: str, *, required: bool = True
) -> Mapping[str, Any]:
    if key not in data:
        if required:
            raise SpecificationError(f"{where}: the [{key}] table is missing.")
        return {}
    value = data[key]
    if not isinstance(value, Mapping):
        raise SpecificationError(f"{where}: {key} must be a table.")
    return value


def _string(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SpecificationError(f"{where}: {key} must be given as non-empty text.")
    return value.strip()


def _integer(data: Mapping[str, Any], key: str, where: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecificationError(f"{where}: {key} must be a whole number, not {value!r}.")
    return value


def _count(data: Mapping[str, Any], key: str, where: str) -> int:
    value = data.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SpecificationError(
            f"{where}: scoring.{key} must be a whole number of items, 0 or more, not {value!r}."
        )
    return value


def _flag(data: Mapping[str, Any], key: str, where: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise SpecificationError(f"{where}: {key} must be true or false, not {value!r}.")
    return value
