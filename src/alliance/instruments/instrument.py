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
from alliance.io import Section
from alliance.io.config_fields import choice, join, refuse, text

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

    Values are read with :mod:`alliance.io.config_fields`, so errors read as those of every
    configuration file.

    Raises
    ------
    SpecificationError
        Naming ``source`` and the offending key, for any structural problem: unknown keys,
        wrong types, duplicate or unknown item ids, an empty response range, labels outside
        it, an unknown rater or scoring method.
    """
    top = Section.of(data, source=source)
    top.known_keys(_KNOWN_KEYS)
    name = top.text("name", nonempty=True).strip()
    if not _NAME.match(name):
        top.wrong("name", "lower case letters, digits, '-' or '_'", "'wai-sr-client'")
    rater = choice(top.text("rater", nonempty=True).strip(), top.name("rater"), _RATERS,
                   source=source)

    items = _items(top)
    response = top.section("response", required=True, example="[response] min = 1, max = 7")
    response.known_keys(("min", "max", "labels"))
    low, high = response.integer("min"), response.integer("max")
    if low >= high:
        response.refuse("max", f"is {high}, but response.min is {low}",
                        "expected max above min (a scale of at least two responses)")
    labels = _labels(response.section("labels"), low, high)

    reverse = _item_list(top, "reverse_keyed", items)
    scoring = top.section("scoring", required=True, example='[scoring] method = "mean"')
    scoring.known_keys(_SCORING_KEYS)
    method = scoring.choice("method", _METHODS, "mean")
    subscale_table = top.section("subscales")
    subscales = tuple(_subscale(subscale_table, sub_name, items)
                      for sub_name in subscale_table.data)
    total = scoring.boolean("total", False)
    item_notes = top.section("item_notes")
    for item in item_notes.data:
        item_notes.text(item)
    _among_items(top, "item_notes", tuple(item_notes.data), items)

    return Instrument(
        name=name,
        title=top.text("title", nonempty=True).strip(),
        citation=top.text("citation", nonempty=True).strip(),
        rater=cast(Rater, rater),
        items=items,
        response_min=low,
        response_max=high,
        response_labels=MappingProxyType(labels),
        reverse_keyed=reverse,
        subscales=subscales,
        method=cast(Method, method),
        subscale_max_missing=scoring.integer("subscale_max_missing", 0, minimum=0),
        total=total,
        total_max_missing=scoring.integer("total_max_missing", 0, minimum=0),
        one_subscale_per_item=scoring.boolean("one_subscale_per_item", False),
        template=top.boolean("template", False),
        notes=str(data.get("notes", "")).strip(),
        item_notes=MappingProxyType(dict(item_notes.data)),
        source=source,
    )


def _items(top: Section) -> tuple[str, ...]:
    """``items``, or ``item_prefix`` with ``item_count`` (``a1`` ... ``a12``)."""
    if "items" in top:
        if "item_prefix" in top or "item_count" in top:
            top.refuse("items", "is given together with item_prefix and item_count",
                       "give either items or item_prefix with item_count")
        items = top.texts("items", nonempty=True, unique=True)
    else:
        prefix = top.text("item_prefix", nonempty=True).strip()
        count = top.integer("item_count", minimum=1)
        items = tuple(f"{prefix}{number}" for number in range(1, count + 1))
    bad = [item for item in items if not _IDENTIFIER.match(item)]
    if bad:
        top.refuse("items", f"has ids that cannot be column names: {bad}",
                   "expected letters, digits and '_', not starting with a digit")
    return items


def _subscale(subscales: Section, name: str, items: tuple[str, ...]) -> Subscale:
    sub = subscales.section(name)
    if not _IDENTIFIER.match(name) or name in {"total", "n_missing"}:
        subscales.refuse(name, "is not a subscale name",
                         "expected an identifier other than 'total' and 'n_missing'")
    sub.known_keys(("items", "label"))
    return Subscale(name=name, label=sub.text("label", name),
                    items=_item_list(sub, "items", items))


def _item_list(section: Section, key: str, items: tuple[str, ...]) -> tuple[str, ...]:
    """``key``: item ids of the instrument, each once (none when absent)."""
    return _among_items(section, key, section.texts(key, (), unique=True), items)


def _among_items(section: Section, key: str, listed: tuple[str, ...],
                 items: tuple[str, ...]) -> tuple[str, ...]:
    """``listed`` if every id in it is one of ``items``."""
    unknown = [item for item in listed if item not in items]
    if unknown:
        section.refuse(key, f"names items that are not among the instrument's items: {unknown}",
                       "expected ids listed in items (or made from item_prefix and item_count)")
    return listed


def _labels(labels: Section, low: int, high: int) -> dict[int, str]:
    """``response.labels``: response -> label, for responses from ``low`` to ``high``."""
    out: dict[int, str] = {}
    for key, value in labels.data.items():
        field = join(labels.field, str(key))
        try:
            response = int(key)
        except ValueError:
            refuse(field, "does not name a response", "expected a whole number as the key",
                   source=labels.source)
        if not low <= response <= high:
            refuse(field, "is not a response of the scale",
                   f"expected a response from {low} to {high}", source=labels.source)
        out[response] = text(value, field, source=labels.source)
    return dict(sorted(out.items()))
