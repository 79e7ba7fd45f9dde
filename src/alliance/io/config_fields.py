"""Reading the fields of a configuration file (parsed TOML), with one wording for every error.

Every command reads a TOML file into frozen dataclasses: the study configuration
(``alliance.study.config_reader``), the simulation design (``alliance.simulate.design``), the
power design (``alliance.power.design``) and questionnaire definitions
(``alliance.instruments.instrument``). All of them read their values with these functions, so
that a configuration error reads the same whatever the command::

    study.toml: seed is -1 (integer); expected a whole number of at least 0.
    design.toml: sample.therapists is missing; expected a whole number, e.g. 70.
    design.toml: sample.n_therapist is not a known key (did you mean 'n_therapists'?);
    expected one of n_reference, n_therapists, n_patients, ...

that is ``<file>: <dotted field> is <found>; expected <expected>.``, where ``<found>`` is the
value as TOML writes it followed by its TOML type (string, integer, float, boolean, array,
table, date-time) and the dotted field is spelt as in the file (``sample.n_therapists``,
``schedule.waves[2]``). The file is named when the reader knows it: a :class:`Section` carries
it, and :func:`naming_file` adds it to errors raised by code that builds from a mapping without
knowing the file. A check that is not about a value's kind or range (two settings that exclude
each other, a formula that does not parse) is refused with :func:`refuse` in the same
``<file>: <field> <problem>; <remedy>.`` form.

Only kinds and ranges are checked here; what a value means in a design (a correlation matrix,
a probability of missingness) is checked by :mod:`alliance.io.value_checks`. Booleans are never
numbers (``true`` is not 1) and numbers are never booleans (``1`` is not ``true``). Unknown
keys are errors, so that a misspelt setting is never silently ignored; the suggestion comes
from :func:`alliance.io.validation.close_matches` (difflib, as for data columns).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final, NoReturn, TypeVar

import numpy as np

from alliance.errors import SpecificationError
from alliance.io.validation import close_matches

T = TypeVar("T")

#: Longest rendering of a found value in a message before it is cut with "...".
MAX_SHOWN = 60


class _Required:
    """The type of :data:`REQUIRED`."""

    def __repr__(self) -> str:
        return "REQUIRED"


#: The default of a field that must be given: its absence is an error.
REQUIRED: Final = _Required()


# ---------------------------------------------------------------- describing values and fields


def toml_type(value: Any) -> str:
    """The TOML type of a parsed value: string, integer, float, boolean, array, table,
    date-time, date or time (numpy scalars count as the numbers they hold)."""
    if isinstance(value, bool | np.bool_):
        return "boolean"
    if isinstance(value, int | np.integer):
        return "integer"
    if isinstance(value, float | np.floating):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "table"
    if isinstance(value, datetime.datetime):
        return "date-time"
    if isinstance(value, datetime.date):
        return "date"
    if isinstance(value, datetime.time):
        return "time"
    return f"Python {type(value).__name__}"


def show(value: Any) -> str:
    """A found value as a message shows it: as TOML writes it, then its TOML type,
    e.g. ``'many' (string)``, ``true (boolean)``, ``[1, 2] (array)``."""
    text = _as_toml(value)
    if len(text) > MAX_SHOWN:
        text = text[: MAX_SHOWN - 3] + "..."
    return f"{text} ({toml_type(value)})"


def _as_toml(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, int | np.integer):
        return repr(int(value))
    if isinstance(value, float | np.floating):
        return repr(float(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_as_toml(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key} = {_as_toml(item)}" for key, item in value.items()) + "}"
    return repr(value)


def join(field: str, key: str | int) -> str:
    """The dotted name of ``key`` inside ``field``: ``join("sample", "n_patients")`` is
    ``sample.n_patients``, ``join("schedule.waves", 2)`` is ``schedule.waves[2]``."""
    if isinstance(key, int):
        return f"{field}[{key}]"
    return f"{field}.{key}" if field else key


def suggestion(name: str, candidates: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the candidate that looks most like ``name``
    (:func:`alliance.io.validation.close_matches`); empty if none does."""
    matches = close_matches(name, candidates)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


def _prefix(source: str | None) -> str:
    return f"{source}: " if source else ""


# ---------------------------------------------------------------- refusing


def refuse(field: str, problem: str, remedy: str, *, source: str | None = None) -> NoReturn:
    """Raise ``<source>: <field> <problem>; <remedy>.``, the form of every configuration error.

    Raises
    ------
    SpecificationError
        Always.
    """
    raise SpecificationError(f"{_prefix(source)}{field or 'the top level'} {problem}; {remedy}.")


def wrong(value: Any, field: str, expected: str, *, source: str | None = None,
          example: str | None = None) -> NoReturn:
    """Raise ``<source>: <field> is <value> (<TOML type>); expected <expected>[, e.g. <example>].``

    Raises
    ------
    SpecificationError
        Always.
    """
    refuse(field, f"is {show(value)}", _expected(expected, example), source=source)


def missing(field: str, expected: str, *, source: str | None = None,
            example: str | None = None) -> NoReturn:
    """Raise ``<source>: <field> is missing; expected <expected>[, e.g. <example>].``

    Raises
    ------
    SpecificationError
        Always.
    """
    refuse(field, "is missing", _expected(expected, example), source=source)


def _expected(expected: str, example: str | None) -> str:
    return f"expected {expected}" + (f", e.g. {example}" if example else "")


@contextmanager
def naming_file(source: str) -> Iterator[None]:
    """Name the file in the :class:`SpecificationError` raised inside the block.

    For readers that build from a mapping without knowing its file (``from_dict``) and the
    validation of the dataclasses they build; an error that names the file already is
    passed on unchanged.

    Raises
    ------
    SpecificationError
        The error raised inside the block, as ``<source>: <message>``.
    """
    try:
        yield
    except SpecificationError as error:
        if str(error).startswith(_prefix(source)):
            raise
        raise SpecificationError(f"{_prefix(source)}{error}") from error


# ---------------------------------------------------------------- values


def table(value: Any, field: str, *, source: str | None = None,
          example: str | None = None) -> Mapping[str, Any]:
    """A TOML table (a mapping of keys to values).

    Raises
    ------
    SpecificationError
        If ``value`` is not a table.
    """
    if not isinstance(value, Mapping):
        wrong(value, field, "a table", source=source, example=example)
    return value


def known_keys(data: Mapping[str, Any], known: Collection[str], field: str, *,
               source: str | None = None, note: str | None = None) -> None:
    """Refuse keys of the table ``data`` (named ``field``) that are not among ``known``,
    suggesting the known keys they resemble; ``note`` (e.g. which keys go together) ends the
    message.

    Raises
    ------
    SpecificationError
        ``<field>.<key> is not a known key (did you mean '<known key>'?); expected one of
        <known keys>.``, naming every unknown key.
    """
    known = list(known) if isinstance(known, Sequence) else sorted(known)
    unknown = [str(key) for key in data if key not in known]
    if not unknown:
        return
    if len(unknown) == 1:
        problem = f"{join(field, unknown[0])} is not a known key{suggestion(unknown[0], known)}"
    else:
        named = [f"{join(field, key)}{suggestion(key, known)}" for key in unknown]
        problem = f"{', '.join(named[:-1])} and {named[-1]} are not known keys"
    remedy = f"expected one of {', '.join(known)}" + (f" ({note})" if note else "")
    raise SpecificationError(f"{_prefix(source)}{problem}; {remedy}.")


def text(value: Any, field: str, *, nonempty: bool = False, source: str | None = None,
         example: str | None = None) -> str:
    """A string; with ``nonempty``, one with more than spaces in it. Returned as written.

    Raises
    ------
    SpecificationError
        If ``value`` is not a string, or is blank and ``nonempty``.
    """
    if not isinstance(value, str) or (nonempty and not value.strip()):
        wrong(value, field, "a non-empty string" if nonempty else "a string", source=source,
              example=example)
    return value


def choice(value: Any, field: str, options: Sequence[str], *, source: str | None = None) -> str:
    """One of the strings ``options``.

    Raises
    ------
    SpecificationError
        If ``value`` is not one of ``options`` (listed in the message).
    """
    if not isinstance(value, str) or value not in options:
        wrong(value, field, f"one of {', '.join(map(repr, options))}", source=source)
    return value


def boolean(value: Any, field: str, *, source: str | None = None) -> bool:
    """``true`` or ``false`` (not 0 or 1, not a string).

    Raises
    ------
    SpecificationError
        If ``value`` is not a boolean.
    """
    if not isinstance(value, bool):
        wrong(value, field, "true or false", source=source)
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_)


def _range(minimum: float | None, maximum: float | None, above: float | None = None,
           below: float | None = None) -> str:
    """`` of at least 0 and below 1``, `` above 0 and at most 1``; empty without bounds."""
    lower = (f"at least {minimum:g}" if minimum is not None
             else f"above {above:g}" if above is not None else "")
    upper = (f"at most {maximum:g}" if maximum is not None
             else f"below {below:g}" if below is not None else "")
    bounds = " and ".join(part for part in (lower, upper) if part)
    return f" of {bounds}" if bounds.startswith("at ") else f" {bounds}" if bounds else ""


def integer(value: Any, field: str, *, minimum: int | None = None, maximum: int | None = None,
            whole_floats: bool = False, source: str | None = None,
            example: str | None = None) -> int:
    """A whole number within ``[minimum, maximum]`` (either bound may be absent).

    TOML tells ``70`` (an integer) from ``70.0`` (a float); with ``whole_floats`` a float
    without a fractional part is accepted too, as the simulation and power designs do.

    Raises
    ------
    SpecificationError
        If ``value`` is not a whole number (a boolean, a fraction, an infinite or missing
        number, a string) or lies outside the bounds.
    """
    expected = "a whole number" + _range(minimum, maximum)
    is_float = isinstance(value, float | np.floating)
    if not _is_number(value) or (is_float and not float(value).is_integer()):
        wrong(value, field, expected, source=source, example=example)
    if is_float and not whole_floats:
        wrong(value, field, expected + ", written without a decimal point", source=source,
              example=example)
    result = int(value)
    if (minimum is not None and result < minimum) or (maximum is not None and result > maximum):
        wrong(value, field, expected, source=source, example=example)
    return result


def number(value: Any, field: str, *, minimum: float | None = None,
           maximum: float | None = None, above: float | None = None,
           below: float | None = None, integers: bool = True, source: str | None = None,
           example: str | None = None) -> float:
    """A finite number, optionally bounded: ``minimum``/``maximum`` inclusive,
    ``above``/``below`` exclusive.

    TOML integers (``1``) are numbers too unless ``integers`` is false, for settings that are
    fractions by nature (a confidence level such as ``0.95``).

    Raises
    ------
    SpecificationError
        If ``value`` is not a finite number (a boolean, a string, ``inf`` or ``nan``), is an
        integer and ``integers`` is false, or lies outside the bounds.
    """
    expected = "a number" + _range(minimum, maximum, above, below)
    if not integers and isinstance(value, int | np.integer) and not isinstance(value, bool):
        expected += ", written with a decimal point"
    if (not _is_number(value) or not math.isfinite(value)
            or (not integers and isinstance(value, int | np.integer))):
        wrong(value, field, expected, source=source, example=example)
    result = float(value)
    if ((minimum is not None and result < minimum) or (maximum is not None and result > maximum)
            or (above is not None and result <= above)
            or (below is not None and result >= below)):
        wrong(value, field, expected, source=source, example=example)
    return result


def array(value: Any, field: str, *, length: int | None = None, nonempty: bool = False,
          what: str = "values", source: str | None = None,
          example: str | None = None) -> tuple[Any, ...]:
    """A TOML array (a list or tuple, not a string), of ``length`` items if given, of at least
    one item if ``nonempty``; ``what`` names the items in the message.

    Raises
    ------
    SpecificationError
        If ``value`` is not an array or has the wrong number of items.
    """
    expected = (f"an array of {length} {what}" if length is not None
                else f"a non-empty array of {what}" if nonempty else f"an array of {what}")
    if (not isinstance(value, list | tuple) or (length is not None and len(value) != length)
            or (nonempty and not value)):
        wrong(value, field, expected, source=source, example=example)
    return tuple(value)


def numbers(value: Any, field: str, *, length: int | None = None, source: str | None = None,
            example: str | None = None) -> tuple[float, ...]:
    """An array of finite numbers (of ``length`` numbers if given); items are named
    ``field[i]`` in errors.

    Raises
    ------
    SpecificationError
        If ``value`` is not such an array.
    """
    items = array(value, field, length=length, what="numbers", source=source, example=example)
    return tuple(number(item, join(field, i), source=source) for i, item in enumerate(items))


def texts(value: Any, field: str, *, nonempty: bool = False, unique: bool = False,
          source: str | None = None, example: str | None = None) -> tuple[str, ...]:
    """An array of non-empty strings, of at least one if ``nonempty``, each at most once if
    ``unique``.

    Raises
    ------
    SpecificationError
        If ``value`` is not such an array; a repeated entry is named.
    """
    items = array(value, field, nonempty=nonempty, what="non-empty strings", source=source,
                  example=example)
    for i, item in enumerate(items):
        text(item, join(field, i), nonempty=True, source=source)
    if unique:
        repeated = sorted({item for item in items if items.count(item) > 1})
        if repeated:
            refuse(field, f"lists {', '.join(map(repr, repeated))} more than once",
                   "list each entry once", source=source)
    return items


def matrix(value: Any, field: str, *, source: str | None = None,
           example: str | None = None) -> tuple[tuple[float, ...], ...]:
    """An array of rows, each an array of finite numbers (row ``i`` is ``field[i]``); the
    shape is left to the caller (see :func:`alliance.io.value_checks.correlation_matrix`).

    Raises
    ------
    SpecificationError
        If ``value`` is not an array of arrays of numbers.
    """
    rows = array(value, field, what="rows (arrays of numbers)", source=source, example=example)
    return tuple(numbers(row, join(field, i), source=source) for i, row in enumerate(rows))


# ---------------------------------------------------------------- a table of a file


@dataclass(frozen=True)
class Section:
    """One table of a configuration file, read key by key with errors that name the file and
    the dotted field.

    Every reader takes the key and a default: without a default (:data:`REQUIRED`) a missing
    key is an error; a default is returned as given when the key is absent (so ``None`` may
    stand for "not set").

    Attributes
    ----------
    data : Mapping[str, Any]
        The table's contents.
    field : str
        Its dotted name (``alliance.patient_rated``); empty for the top level of the file.
    source : str or None
        The file, named at the start of every message; None when unknown.
    """

    data: Mapping[str, Any]
    field: str = ""
    source: str | None = None

    @classmethod
    def of(cls, value: Any, field: str = "", source: str | None = None,
           example: str | None = None) -> Section:
        """The section ``field`` holding ``value``.

        Raises
        ------
        SpecificationError
            If ``value`` is not a table.
        """
        return cls(table(value, field, source=source, example=example), field, source)

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def name(self, key: str) -> str:
        """The dotted name of ``key`` in this section (of the section itself for ``""``)."""
        return join(self.field, key) if key else self.field

    def known_keys(self, known: Collection[str], note: str | None = None) -> None:
        """Refuse keys not among ``known`` (see :func:`known_keys`)."""
        known_keys(self.data, known, self.field, source=self.source, note=note)

    def refuse(self, key: str, problem: str, remedy: str) -> NoReturn:
        """Raise ``<source>: <field>.<key> <problem>; <remedy>.`` (see :func:`refuse`)."""
        refuse(self.name(key), problem, remedy, source=self.source)

    def wrong(self, key: str, expected: str, example: str | None = None) -> NoReturn:
        """Raise for the value of ``key``: ``... is <value> (<type>); expected <expected>.``"""
        wrong(self.data[key], self.name(key), expected, source=self.source, example=example)

    def get(self, key: str, default: Any = REQUIRED, *, expected: str = "a value",
            example: str | None = None) -> Any:
        """The raw value of ``key``; ``expected`` describes it when it is missing."""
        if key in self.data:
            return self.data[key]
        if isinstance(default, _Required):
            missing(self.name(key), expected, source=self.source, example=example)
        return default

    def section(self, key: str, *, required: bool = False,
                example: str | None = None) -> Section:
        """The table ``key`` inside this one; empty when absent unless ``required``."""
        value = self.get(key, REQUIRED if required else {}, expected="a table", example=example)
        return Section.of(value, self.name(key), self.source, example)

    def text(self, key: str, default: T | _Required = REQUIRED, *, nonempty: bool = False,
             example: str | None = None) -> str | T:
        """A string (see :func:`text`)."""
        if key not in self.data:
            return self._default(key, default, "a non-empty string" if nonempty else "a string",
                                 example)
        return text(self.data[key], self.name(key), nonempty=nonempty, source=self.source,
                    example=example)

    def choice(self, key: str, options: Sequence[str],
               default: T | _Required = REQUIRED) -> str | T:
        """One of ``options`` (see :func:`choice`)."""
        if key not in self.data:
            return self._default(key, default, f"one of {', '.join(map(repr, options))}")
        return choice(self.data[key], self.name(key), options, source=self.source)

    def boolean(self, key: str, default: T | _Required = REQUIRED) -> bool | T:
        """``true`` or ``false`` (see :func:`boolean`)."""
        if key not in self.data:
            return self._default(key, default, "true or false")
        return boolean(self.data[key], self.name(key), source=self.source)

    def integer(self, key: str, default: T | _Required = REQUIRED, *,
                minimum: int | None = None, maximum: int | None = None,
                whole_floats: bool = False, example: str | None = None) -> int | T:
        """A whole number (see :func:`integer`)."""
        if key not in self.data:
            return self._default(key, default, "a whole number", example)
        return integer(self.data[key], self.name(key), minimum=minimum, maximum=maximum,
                       whole_floats=whole_floats, source=self.source, example=example)

    def number(self, key: str, default: T | _Required = REQUIRED, *,
               minimum: float | None = None, maximum: float | None = None,
               above: float | None = None, below: float | None = None, integers: bool = True,
               example: str | None = None) -> float | T:
        """A finite number (see :func:`number`)."""
        if key not in self.data:
            return self._default(key, default, "a number", example)
        return number(self.data[key], self.name(key), minimum=minimum, maximum=maximum,
                      above=above, below=below, integers=integers, source=self.source,
                      example=example)

    def numbers(self, key: str, default: T | _Required = REQUIRED, *,
                length: int | None = None, example: str | None = None) -> tuple[float, ...] | T:
        """An array of numbers (see :func:`numbers`)."""
        if key not in self.data:
            return self._default(key, default, "an array of numbers", example)
        return numbers(self.data[key], self.name(key), length=length, source=self.source,
                       example=example)

    def texts(self, key: str, default: T | _Required = REQUIRED, *, nonempty: bool = False,
              unique: bool = False, example: str | None = None) -> tuple[str, ...] | T:
        """An array of non-empty strings (see :func:`texts`)."""
        if key not in self.data:
            return self._default(key, default, "an array of non-empty strings", example)
        return texts(self.data[key], self.name(key), nonempty=nonempty, unique=unique,
                     source=self.source, example=example)

    def _default(self, key: str, default: T | _Required, expected: str,
                 example: str | None = None) -> T:
        if isinstance(default, _Required):
            missing(self.name(key), expected, source=self.source, example=example)
        return default
