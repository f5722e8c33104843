"""The JSON exchange format of ``docs/exchange.md``: dicts to the model and back.

Structuring is done by cattrs with detailed validation, so every problem of a record is
reported at once, each with its exact path (``certificates[1].level``), its code, an English
and a Chinese message, and the allowed values where there is a closed set of them (the codes
and messages are the table :data:`taian_titles.errors.MESSAGES`).  All problems travel in one
:class:`InputError`.

Unknown fields are bad input too (a misspelt ``certificate`` key would otherwise silently
drop every certificate); the message lists the allowed fields.  A caller that asks for leniency
(``lenient=True``) has unknown top-level fields kept in the record's ``meta``, except those that
look like a misspelt field of the format (``certificate``, ``workPeriods``), which stay bad input.

An applicant or a list may carry ``meta``, an object of the caller's own fields, that comes back
unchanged in its result or error entry; and ``exchange_version``, the version of this format the
caller writes (:data:`EXCHANGE_VERSIONS`).
"""

from __future__ import annotations

import datetime as _dt
import difflib
import functools
import re
import types
import typing
from collections.abc import Mapping
from typing import Any, Callable, Iterable

import attrs
import cattrs
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn

from .errors import BadType, BadValue, InputError, Problem, Words, json_type, problem
from .limits import DEPTH, check_date, check_items, check_string, nesting_depth
from .model import (
    Achievement,
    Applicant,
    Candidate,
    Certificate,
    CertificateKind,
    FieldError,
    Level,
    Labelled,
    RecommendationList,
    SkillLevelRecord,
    Title,
    WorkPeriod,
    end_before_start,
    senior_training,
)

__all__ = [
    "applicant_from_dict",
    "applicant_to_dict",
    "recommendation_list_from_dict",
    "recommendation_list_to_dict",
    "parse_date",
    "parse_as_of",
    "record_meta",
    "EXCHANGE_VERSION",
    "EXCHANGE_VERSIONS",
]

#: The version of the exchange format this library writes (every result's ``exchange_version``).
#: 1.0 is the shared contract; 1.1 adds ``meta``, ``exchange_version``, problem codes with both
#: messages and ``allowed``, and errors of kind ``internal``.
EXCHANGE_VERSION = "1.1"
#: The versions a record may name in its optional ``exchange_version``: it reads both alike.
EXCHANGE_VERSIONS = ("1.0", "1.1")

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# What a field expects, as the messages name it.
_A_DATE = Words("a date YYYY-MM-DD", "日期（YYYY-MM-DD）")
_A_STRING = Words("a string", "字符串")
_A_BOOLEAN = Words("true or false", "布尔值 true 或 false")
_AN_ARRAY = Words("an array", "数组")
_AN_OBJECT = Words("an object", "对象")


def parse_date(value: Any) -> _dt.date:
    """An ISO ``YYYY-MM-DD`` date; impossible dates (2025-02-30) are refused with the reason,
    and dates outside the range of :mod:`taian_titles.limits` (1900-01-01 to 2199-12-31)."""
    if type(value) is str:  # the common case first
        return _iso_date(value)
    if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        check_date(value)
        return value
    if not isinstance(value, str):
        raise BadType(_A_DATE, value)
    return _iso_date(str(value))


@functools.lru_cache(maxsize=4096)  # the dates of a batch repeat; a date is immutable
def _iso_date(text: str) -> _dt.date:
    if len(text) > 10 or not _DATE.match(text):
        raise BadValue("not_a_date", value=shown(text))
    try:
        day = _dt.date.fromisoformat(text)
    except ValueError as exc:
        raise BadValue("impossible_date", value=repr(text), reason=str(exc)) from None
    check_date(day)
    return day


def shown(text: str, chars: int = 40) -> str:
    """``repr(text)`` as a message quotes it: a long text is cut, saying how long it was."""
    if len(text) <= chars:
        return repr(text)
    return f"{text[:chars]!r}… ({len(text):,} characters)"


def _date_hook(value: Any, _type: Any) -> _dt.date:
    return parse_date(value)


def parse_as_of(value: Any) -> _dt.date | None:
    """An evaluation date given by a caller (``None`` when absent); bad ones name ``as_of``."""
    if value is None:
        return None
    try:
        return parse_date(value)
    except BadValue as exc:
        raise InputError([exc.problem("as_of")]) from None


def _strict_str(value: Any, _type: Any = str) -> str:
    if not isinstance(value, str):
        raise BadType(_A_STRING, value)
    check_string(value)  # within what the engine compares exactly, and Unicode text
    return value


def _non_empty_str(value: Any, _type: Any = str) -> str:
    text = _strict_str(value)
    if not text.strip():
        raise BadValue("empty_string")
    return text


def _strict_bool(value: Any, _type: Any = bool) -> bool:
    if not isinstance(value, bool):
        raise BadType(_A_BOOLEAN, value)
    return value


def _meta(value: Any, _type: Any = None) -> dict[str, Any] | None:
    """The caller's own fields: any JSON object, kept as given."""
    if value is None:
        return None
    if type(value) is not dict and not isinstance(value, Mapping):
        raise BadType(_AN_OBJECT, value)
    return dict(value)


def _is_optional(type_: Any) -> bool:
    """``X | None`` (or ``Optional[X]``) of one type X."""
    args = typing.get_args(type_)
    return (typing.get_origin(type_) in (typing.Union, types.UnionType) and len(args) == 2
            and type(None) in args)


_RECORDS = (Certificate, WorkPeriod, SkillLevelRecord, Title, Achievement, Applicant, Candidate,
            RecommendationList)
# The lists of the exchange format, by the type of their items (each has its limit).
_LISTS = {Certificate: "certificates", WorkPeriod: "work_periods", SkillLevelRecord: "skill_levels",
          Title: "titles", Achievement: "achievements", Candidate: "candidates"}
# Fields that must be non-empty strings (identity fields).
_NON_EMPTY = {(Applicant, "id"), (Certificate, "number"), (Certificate, "programme"), (Candidate, "id"),
              (RecommendationList, "unit"), (Achievement, "description")}


def _make_converter(detailed: bool = True) -> cattrs.Converter:
    """The cattrs converter of the exchange format.  ``detailed=False`` is the fast path for
    valid records: hooks resolved once per type, no per-item error bookkeeping."""
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=detailed)
    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook(bool, _strict_bool)
    conv.register_structure_hook(_dt.date, _date_hook)

    def labelled_hook(type_: type[Labelled]) -> Callable[[Any, Any], Labelled]:
        spelling = type_.spellings().get

        def hook(value: Any, _type: Any) -> Labelled:
            member = spelling(value) if type(value) is str else None
            if member is None and isinstance(value, str):
                check_string(value)
            # Labelled.parse raises a bad value's problem, with the allowed values.
            return member if member is not None else type_.parse(value)
        return hook

    conv.register_structure_hook_factory(
        lambda t: isinstance(t, type) and issubclass(t, Labelled), labelled_hook)
    conv.register_unstructure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, Labelled), lambda v: v.code)
    conv.register_unstructure_hook(_dt.date, lambda d: d.isoformat())

    def optional_hook(type_: Any) -> Callable[[Any, Any], Any]:
        (inner,) = [a for a in typing.get_args(type_) if a is not type(None)]
        structure = conv.get_structure_hook(inner)
        return lambda value, _type: None if value is None else structure(value, inner)

    conv.register_structure_hook_factory(_is_optional, optional_hook)

    def sequence_hook(type_: Any) -> Callable[[Any, Any], tuple[Any, ...]]:
        (element,) = {a for a in typing.get_args(type_) if a is not Ellipsis}
        structure = conv.get_structure_hook(element)
        name = _LISTS.get(element, "")

        def fast(value: Any, _type: Any) -> tuple[Any, ...]:
            if not isinstance(value, (list, tuple)):
                raise BadType(_AN_ARRAY, value)
            check_items(name, len(value))
            return tuple([structure(item, element) for item in value])

        def detailed_hook(value: Any, _type: Any) -> tuple[Any, ...]:
            if not isinstance(value, (list, tuple)):
                raise BadType(_AN_ARRAY, value)
            check_items(name, len(value))  # not one item more is looked at
            out, errors = [], []
            for index, item in enumerate(value):
                try:
                    out.append(structure(item, element))
                except Exception as exc:  # collected, reported with its index
                    exc.__notes__ = [*getattr(exc, "__notes__", []),
                                     IterableValidationNote(f"@ index {index}", index, element)]
                    errors.append(exc)
            if errors:
                raise IterableValidationError(f"While structuring {type_!r}", errors, type_)
            return tuple(out)

        return detailed_hook if detailed else fast

    conv.register_structure_hook_factory(
        lambda t: typing.get_origin(t) is tuple, sequence_hook)

    for cls in _RECORDS:
        overrides = {}
        for field in attrs.fields(cls):
            if (cls, field.name) in _NON_EMPTY:
                overrides[field.name] = cattrs.override(struct_hook=_non_empty_str)
        if cls is Certificate:  # checked against the policy's programme directions later
            overrides["direction"] = cattrs.override(struct_hook=_non_empty_str)
        if "meta" in attrs.fields_dict(cls):  # the caller's own fields: written back only when given
            overrides["meta"] = cattrs.override(struct_hook=_meta)
            conv.register_unstructure_hook(cls, make_dict_unstructure_fn(
                cls, conv, meta=cattrs.override(omit_if_default=True)))
        generated = make_dict_structure_fn(cls, conv, _cattrs_forbid_extra_keys=True, **overrides)

        def record_hook(value: Any, type_: Any, _generated: Callable[..., Any] = generated,
                        _cls: type = cls) -> Any:
            if type(value) is not dict and not isinstance(value, Mapping):
                raise BadType(_AN_OBJECT, value)
            return _generated(value, _cls)

        conv.register_structure_hook(cls, record_hook)
    return conv


_CONVERTER = _make_converter()
# Valid records take the fast path; a record that fails it is structured again in detail,
# so that every problem is reported with its path.
_FAST = _make_converter(detailed=False)


def _problem(exc: BaseException, path: str) -> Problem:
    """The problem of one leaf exception found at ``path``."""
    if isinstance(exc, FieldError):
        return exc.problem(_join(path, exc.field))
    if isinstance(exc, BadValue):
        return exc.problem(path or "$")
    if isinstance(exc, KeyError):
        return problem(path or "$", "missing_field")
    if isinstance(exc, ForbiddenExtraKeysError):
        extra = sorted(str(name) if len(str(name)) <= 40 else shown(str(name)) for name in exc.extra_fields)
        allowed = [f.name for f in attrs.fields(exc.cl)]
        if exc.cl in (Applicant, RecommendationList):
            allowed.append("exchange_version")
        return problem(path or "$", "unknown_field", fields=Words(", ".join(extra), "、".join(extra)),
                       allowed=allowed)
    raise exc  # not a problem of the input: a fault, reported as one


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _problems(exc: BaseException, path: str) -> list[Problem]:
    if isinstance(exc, (ClassValidationError, IterableValidationError)):
        out: list[Problem] = []
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            if isinstance(exc, IterableValidationError):
                sub_path = f"{path}[{note.index}]"
            else:
                sub_path = _join(path, note.name)
            out.extend(_problems(sub, sub_path))
        for sub in without:
            out.extend(_problems(sub, path))
        return out
    return [_problem(exc, path)]


def _duplicate_numbers(data: Mapping[str, Any]) -> list[Problem]:
    certificates = data.get("certificates")
    if not isinstance(certificates, list):
        return []
    seen: dict[str, int] = {}
    problems = []
    for index, item in enumerate(certificates):
        number = item.get("number") if type(item) is dict or isinstance(item, Mapping) else None
        if not isinstance(number, str):
            continue
        if number in seen:
            problems.append(problem(f"certificates[{index}].number", "duplicate_number",
                                    number=repr(number), other=f"certificates[{seen[number]}].number"))
        else:
            seen[number] = index
    return problems


def _senior_training(data: Mapping[str, Any]) -> list[Problem]:
    problems = []
    for index, item in _items(data, "certificates"):
        try:
            kind, level = CertificateKind.parse(item.get("kind")), Level.parse(item.get("level"))
        except ValueError:
            continue  # reported by the field itself
        if kind is CertificateKind.training and level is Level.senior:
            problems.append(senior_training().problem(f"certificates[{index}].level"))
    return problems


def _items(data: Mapping[str, Any], key: str) -> Iterable[tuple[int, Mapping[str, Any]]]:
    items = data.get(key)
    if isinstance(items, list):
        for index, item in enumerate(items):
            if isinstance(item, Mapping):
                yield index, item


def _end_before_start(data: Mapping[str, Any]) -> list[Problem]:
    problems = []
    for index, item in _items(data, "work_periods"):
        try:
            start, end = parse_date(item.get("start")), item.get("end")
            end = None if end is None else parse_date(end)
        except (TypeError, ValueError):
            continue  # reported by the field itself
        if end is not None and end < start:
            problems.append(end_before_start(end, start).problem(f"work_periods[{index}].end"))
    return problems


Check = Callable[[Mapping[str, Any]], list[Problem]]


def _is_near_miss(key: str, fields: list[str]) -> bool:
    """An unknown field that looks like a misspelt field of the format (``certificate``,
    ``workPeriods``, ``Titles``): refused even when the caller asks for leniency, since keeping
    it aside would silently drop what it holds from the decision."""
    def plain(name: str) -> str:
        return name.lower().replace("_", "").replace("-", "").replace(" ", "")
    if plain(key) in {plain(f) for f in fields}:
        return True
    return bool(difflib.get_close_matches(key.lower(), fields, n=1, cutoff=0.8))


def _top_level(data: Mapping[str, Any], cls: type, lenient: bool) -> tuple[Mapping[str, Any], list[Problem]]:
    """The record without its ``exchange_version`` (checked) and, when lenient, with its unknown
    top-level fields moved into ``meta`` (the record's own ``meta`` entries win)."""
    problems: list[Problem] = []
    if "exchange_version" in data:
        version = data["exchange_version"]
        if not isinstance(version, str):
            problems.append(BadType(_A_STRING, version, allowed=EXCHANGE_VERSIONS).problem("exchange_version"))
        elif version not in EXCHANGE_VERSIONS:
            problems.append(problem("exchange_version", "unknown_value", value=repr(version),
                                    allowed=EXCHANGE_VERSIONS))
        data = {k: v for k, v in data.items() if k != "exchange_version"}
    if lenient:
        fields = [f.name for f in attrs.fields(cls)]
        extra = {k: v for k, v in data.items() if k not in fields and not _is_near_miss(str(k), fields)}
        if extra:
            kept = {k: v for k, v in data.items() if k not in extra}
            own = data.get("meta")
            if own is None or isinstance(own, Mapping):
                kept["meta"] = {**extra, **(own or {})}
            data = kept
    return data, problems


def record_meta(data: Any, cls: type, lenient: bool = False) -> dict[str, Any] | None:
    """The ``meta`` that travels back with a record's answer, error entries included: its own
    ``meta`` when that is an object (with, when lenient, its unknown top-level fields), else None."""
    if not isinstance(data, Mapping):
        return None
    data, _ = _top_level(data, cls, lenient)
    meta = data.get("meta")
    return dict(meta) if isinstance(meta, Mapping) else None


def _structure(data: Any, cls: type, cross_checks: Iterable[Check] = (), model_checks: Iterable[Check] = (),
               lenient: bool = False) -> Any:
    """Structure ``data`` into ``cls``; every problem found is raised in one :class:`InputError`.

    ``cross_checks`` look at the whole record and always run.  ``model_checks`` repeat, on the
    dict, invariants that the model's own validators enforce: a record that structured has
    passed them, and a record that did not gets them reported beside its other problems.
    """
    if type(data) is not dict and not isinstance(data, Mapping):
        raise InputError([problem("$", "not_an_object", got=json_type(data))])
    problems: list[Problem] = []
    if lenient and nesting_depth(data) > DEPTH:  # kept in ``meta`` and echoed: held to the JSON reader's limit
        raise InputError([problem("$", "too_deep", limit=DEPTH)], record_id=_record_id(data))
    if lenient or "exchange_version" in data:
        data, problems = _top_level(data, cls, lenient)
    result = None
    try:
        result = _FAST.structure(data, cls)
    except Exception:
        try:
            result = _CONVERTER.structure(data, cls)
        except Exception as exc:  # every failure of cattrs becomes a list of problems
            problems.extend(_problems(exc, ""))
        for check in model_checks:
            problems.extend(check(data))
    for check in cross_checks:
        problems.extend(check(data))
    if problems:
        raise InputError(sorted(set(problems), key=lambda p: _path_key(p.path)), record_id=_record_id(data))
    return result


def _path_key(path: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"[.\[\]]+", path) if part]


def _record_id(data: Any) -> str | None:
    if isinstance(data, Mapping):
        value = data.get("id", data.get("unit"))
        if isinstance(value, str):
            return value
    return None


def applicant_from_dict(data: Any, *, lenient: bool = False) -> Applicant:
    """An exchange-format applicant dict to an :class:`Applicant`; raises :class:`InputError`.

    ``lenient``: unknown top-level fields are kept in ``meta`` instead of being bad input.
    """
    return _structure(data, Applicant, (_duplicate_numbers,), (_senior_training, _end_before_start), lenient)


def applicant_to_dict(applicant: Applicant) -> dict[str, Any]:
    """The exchange-format dict of an applicant (``applicant_from_dict`` reads it back unchanged)."""
    return _CONVERTER.unstructure(applicant)


def recommendation_list_from_dict(data: Any, *, lenient: bool = False) -> RecommendationList:
    """An exchange-format recommendation list to a :class:`RecommendationList`.

    ``lenient``: unknown top-level fields are kept in ``meta`` instead of being bad input.
    """
    result: RecommendationList = _structure(data, RecommendationList, (_empty_list,), lenient=lenient)
    return result


def _empty_list(data: Mapping[str, Any]) -> list[Problem]:
    candidates = data.get("candidates")
    if isinstance(candidates, list) and not candidates:
        return [problem("candidates", "empty_list")]
    return []


def recommendation_list_to_dict(rec: RecommendationList) -> dict[str, Any]:
    return _CONVERTER.unstructure(rec)
