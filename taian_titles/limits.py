"""The limits of what the library accepts: one table, enforced at the boundary.

Every input is checked against these limits before the rule engine sees anything, so that no
record can make durable-rules' C core compare the wrong bytes, run out of its fixed-size
tables, or cost time and memory out of proportion to its size.  A record past a limit gets an
error entry of its own that names the field and the limit (the problem codes ``too_large``,
``too_deep``, ``too_long``, ``too_many_items``, ``date_out_of_range``); an input that cannot be
read within its limit as a whole is refused.  ``docs/security.md`` explains each value.

:data:`LIMITS` is the table; the module-level names are its values, for the code that
enforces them.  :func:`check_model` applies the limits of a record to model objects built in
Python (the exchange format applies them while it reads JSON).
"""

from __future__ import annotations

import datetime as _dt
import operator
import re
import typing
from typing import Any, Callable, NamedTuple

import attrs

from .errors import BadValue, InputError, Problem

__all__ = ["Limit", "LIMITS", "RECORD_BYTES", "LINE_BYTES", "INPUT_BYTES", "RULESET_BYTES", "DEPTH",
           "STRING_CHARS", "ITEMS", "WORKBOOK_UNPACKED_BYTES",
           "WORKBOOK_WHOLE_PARTS_BYTES", "WORKBOOK_PARTS", "FIRST_DATE", "LAST_DATE", "RULES", "RULES_PER_CONDITION",
           "TESTS_PER_CONDITION", "TESTS_AFTER_ONE_TEST", "check_string", "check_date", "check_items",
           "check_model", "nesting_depth", "may_be_deeper", "CHUNK_BYTES", "shown", "markdown_table"]


class Limit(NamedTuple):
    """One limit: its name, its value, what it bounds and why it is this value."""

    name: str
    value: Any
    bounds: str
    why: str


_MiB = 1024 * 1024

#: Bytes of one record: a JSON Lines line, a pretty-printed object, an element of an array.
RECORD_BYTES = 16 * _MiB
#: Bytes of one line of JSON Lines (a line is one record).
LINE_BYTES = RECORD_BYTES
#: Bytes of an input read as a whole: a JSON array, or one pretty-printed object.
INPUT_BYTES = 64 * _MiB
#: Bytes of one ruleset file.
RULESET_BYTES = 4 * _MiB
#: Bytes of a workbook's parts once unpacked, together (a .xlsx is a zip file of XML parts).
WORKBOOK_UNPACKED_BYTES = 128 * _MiB
#: Bytes, unpacked, of the parts of a workbook read whole (all but its worksheets: the shared
#: strings, the styles, the workbook itself).
WORKBOOK_WHOLE_PARTS_BYTES = 32 * _MiB
#: Parts (zip members) of one workbook.
WORKBOOK_PARTS = 1000
#: Inputs are read in chunks of this size, never with one unbounded read.
CHUNK_BYTES = 1 * _MiB
#: Levels of arrays and objects in one record, the record itself being level 1.
DEPTH = 32
#: Characters of any string of a record.
STRING_CHARS = 1000
#: Items of each list of a record.  An applicant's rule firings grow linearly with its items
#: (facts derived ``once`` replaced the pairs of lists the rules used to make); the limits keep
#: a record far from the 65,535 facts one session of the core holds and its letter readable.
#: One product remains, bounded by them: the crossover counts skilled work from each skill
#: level's date, and notes each skilled period begun before it (skill levels x work periods).
#: A list's candidates are checked in sessions of their own (``engine.STANDALONE_PER_SESSION``).
ITEMS: dict[str, int] = {
    "certificates": 200,
    "work_periods": 200,
    "skill_levels": 100,
    "titles": 200,
    "achievements": 50,
    "candidates": 100_000,
}
#: The dates a record may carry (``as_of`` and every date of its items), both included.
FIRST_DATE = _dt.date(1900, 1, 1)
LAST_DATE = _dt.date(2199, 12, 31)
#: Rules of one policy, with the engine adapter's two hidden rules the core's 4,096.
RULES = 4094
#: Rules that may test one same condition (the core links one alpha node to 256 join nodes).
RULES_PER_CONDITION = 256
#: Tests of one condition that the core evaluates in its join node: each comparison with another
#: fact's field counts one, each ``in`` or ``not in`` list of two or more values two (the core's
#: 32 expressions per join node, less the adapter's two: the test that the fact is the
#: applicant's of the rule's first condition, and the closing test).  Measured: 28 pass, 29 give
#: core error 113.
TESTS_PER_CONDITION = 28
#: Different tests that may follow one same test on a fact type (the core's 512-entry table).
#: Measured: 510 pass; 511 corrupt the core's heap (the process aborts in free()).
TESTS_AFTER_ONE_TEST = 510
#: Fields of one fact type that the rules test.  The engine is told only those, plus four the
#: adapter adds (the type, ``id``, the session, the applicant's key).  The core built by the
#: Makefile has a table of 32 properties an object (``MAX_OBJECT_PROPERTIES``, 255 in the stock
#: build), which crashes when full (32 properties: a segmentation fault, found with 28 fields;
#: 31 work): 24 leaves that table a quarter empty.
FIELDS_PER_FACT = 24

LIMITS: tuple[Limit, ...] = (
    Limit("record_bytes", RECORD_BYTES, "bytes of one record (a JSON Lines line, an element of an "
          "array, a pretty-printed object)",
          "an applicant at every list's limit is about 90 KB, a list of 100,000 candidates about "
          "10 MB; a record is parsed whole before it is checked"),
    Limit("line_bytes", LINE_BYTES, "bytes of one line of JSON Lines",
          "a line is one record; a longer one is that line's error and the rest of it is skipped"),
    Limit("input_bytes", INPUT_BYTES, "bytes of an input read as a whole (a JSON array, one object)",
          "an array is held in memory while it is read; longer batches are sent as JSON Lines, "
          "which is read a line at a time and has no total limit"),
    Limit("ruleset_bytes", RULESET_BYTES, "bytes of one ruleset file", "the shipped ones are under 60 KB"),
    Limit("workbook_unpacked_bytes", WORKBOOK_UNPACKED_BYTES,
          "bytes of a workbook roster's parts once unpacked, together (the file itself is an input "
          "read at once: at most input_bytes)",
          "checked from the zip's directory before the workbook is opened, so a small file that "
          "unpacks to gigabytes (a zip bomb) is refused; a 100,000-row roster unpacks to about 110 MB, "
          "and one cell of 200 MiB took openpyxl 1.8 GB of memory"),
    Limit("workbook_whole_parts_bytes", WORKBOOK_WHOLE_PARTS_BYTES,
          "bytes, unpacked, of a workbook's parts other than its worksheets (shared strings, styles)",
          "openpyxl reads these whole into memory; the worksheets are read a row at a time"),
    Limit("workbook_parts", WORKBOOK_PARTS, "parts (zip members) of a workbook roster",
          "a roster has about ten; counted from the zip's end record before its directory is read"),
    Limit("depth", DEPTH, "levels of arrays and objects in one record (the record is level 1)",
          "the exchange format needs 3; deeper nesting is refused before it is parsed"),
    Limit("string_chars", STRING_CHARS, "characters of every string of a record",
          "the engine's C core keeps a string's length in 16 bits and compares only the first "
          "(length mod 65,536) bytes of a longer one; 1,000 characters are at most 6,000 bytes "
          "as JSON, far below"),
    *(Limit(f"{name}", value, f"items of {name}",
            "an applicant's costs grow linearly with its items (2,000 of each list, 10x the limits, "
            "in about 0.7 s); the limits keep a record far from the 65,535 facts one session of "
            "the core holds and a letter readable, and bound the one product left: skilled work "
            "is counted, and noted when it began earlier, from each skill level's date"
            if name != "candidates" else
            "a list is counted in Python and its candidates are checked in sessions of 4,096 "
            "(one session of the core holds 65,535 facts): time linear in the list, about 1 s "
            "at the limit")
      for name, value in ITEMS.items()),
    Limit("dates", f"{FIRST_DATE.isoformat()} to {LAST_DATE.isoformat()}",
          "every date of a record, and an evaluation date",
          "date arithmetic (anniversaries, eligibility) stays far inside what Python's dates hold"),
    Limit("rules", RULES, "rules of one policy", "the core accepts 4,096 rules; the adapter adds two"),
    Limit("rules_per_condition", RULES_PER_CONDITION, "rules that test one same condition",
          "the core links one condition (alpha node) to at most 256 rules (error 108)"),
    Limit("tests_per_condition", TESTS_PER_CONDITION,
          "tests of one condition that compare with another fact's field, an `in` or `not in` list of "
          "two or more values counting two, in a condition that compares with another fact or is "
          "not its rule's first",
          "the core keeps at most 32 expressions per join node (error 113); the adapter adds two "
          "(the applicant of a shared session, the closing test)"),
    Limit("fields_per_fact", FIELDS_PER_FACT, "fields of one fact type that the rules test",
          "the core built by the Makefile has a table of 32 properties an object (the stock build "
          "255) and crashes when it is full; the adapter adds four"),
    Limit("tests_after_one_test", TESTS_AFTER_ONE_TEST,
          "different tests against values that follow one same test on a fact type",
          "the core's table of the tests after one test has 512 entries (error 106); with 511 the "
          "process aborts (heap corruption)"),
)


def shown(limit: Limit) -> str:
    """A limit's value as the documentation shows it: ``8,388,608 bytes (8 MiB)``, ``1,000``."""
    value = limit.value
    if not isinstance(value, int):
        return str(value)
    if limit.name.endswith("bytes"):
        return f"{value:,} bytes" + (f" ({value // _MiB} MiB)" if value % _MiB == 0 else "")
    return f"{value:,}"


def markdown_table() -> str:
    """The table of :data:`LIMITS` in Markdown, as ``docs/security.md`` holds it (a test checks
    that it does)."""
    rows = ["| limit | value | what it bounds | why |", "|---|---:|---|---|"]
    rows += [f"| `{limit.name}` | {shown(limit)} | {limit.bounds} | {limit.why} |" for limit in LIMITS]
    return "\n".join(rows) + "\n"


# --------------------------------------------------------------------------- checking values

_SURROGATE = re.compile("[\ud800-\udfff]")


def check_string(value: str) -> None:
    """Raise :class:`BadValue` for a string that is too long or is not Unicode text (a lone
    surrogate, which JSON can write as ``"\\ud800"`` but no UTF-8 text can hold)."""
    if len(value) > STRING_CHARS:
        raise BadValue("too_long", length=f"{len(value):,}", limit=f"{STRING_CHARS:,}")
    if not value.isascii():
        found = _SURROGATE.search(value)
        if found is not None:
            raise BadValue("lone_surrogate", char=f"U+{ord(found.group()):04X}", position=found.start() + 1)


def check_date(value: _dt.date) -> None:
    """Raise :class:`BadValue` for a date outside ``FIRST_DATE`` … ``LAST_DATE``."""
    if not FIRST_DATE <= value <= LAST_DATE:
        raise BadValue("date_out_of_range", value=value.isoformat(), first=FIRST_DATE.isoformat(),
                       last=LAST_DATE.isoformat())


def check_items(name: str, count: int) -> None:
    """Raise :class:`BadValue` when the list ``name`` has more items than its limit."""
    limit = ITEMS.get(name)
    if limit is not None and count > limit:
        raise BadValue("too_many_items", count=f"{count:,}", limit=f"{limit:,}")


def _plan(cls: type) -> tuple[Callable[[Any], tuple[Any, ...]], tuple[str, ...], tuple[str, ...],
                              tuple[str, ...]]:
    """What of a model class is checked, worked out once per class: a getter of its text and
    date fields together, the names of its text fields and date fields, and its list fields."""
    plan = _PLANS.get(cls)
    if plan is None:
        texts, dates, lists = [], [], []
        for field in attrs.fields(attrs.resolve_types(cls)):
            kinds = set(typing.get_args(field.type)) - {type(None)} or {field.type}
            if typing.get_origin(field.type) is tuple:
                lists.append(field.name)
            elif kinds == {_dt.date}:
                dates.append(field.name)
            elif kinds == {str}:
                texts.append(field.name)
        names = (*texts, *dates, "__class__")  # the class: a getter of one name returns no tuple
        plan = _PLANS[cls] = (operator.attrgetter(*names), tuple(texts), tuple(dates), tuple(lists))
    return plan


_PLANS: dict[type, Any] = {}


def _problems(record: Any, path: Callable[[], str], out: list[Problem]) -> None:
    """Append the problems of ``record`` to ``out``; ``path()`` gives its path, made only for a
    problem."""
    getter, texts, dates, lists = _plan(type(record))
    values = getter(record)
    for name, value in zip(texts, values):
        if value is not None and (len(value) > STRING_CHARS or not value.isascii()
                                  and _SURROGATE.search(value) is not None):
            try:
                check_string(value)
            except BadValue as exc:
                out.append(exc.problem(path() + name))
    for name, value in zip(dates, values[len(texts):]):
        if value is not None and not FIRST_DATE <= value <= LAST_DATE:
            out.append(BadValue("date_out_of_range", value=value.isoformat(), first=FIRST_DATE.isoformat(),
                                last=LAST_DATE.isoformat()).problem(path() + name))
    for name in lists:
        items = getattr(record, name)
        if len(items) > ITEMS.get(name, len(items)):
            out.append(BadValue("too_many_items", count=f"{len(items):,}",
                                limit=f"{ITEMS[name]:,}").problem(path() + name))
            continue
        for index, item in enumerate(items):
            _problems(item, lambda name=name, index=index: f"{path()}{name}[{index}].", out)


def check_model(record: Any) -> None:
    """Apply the limits of a record to a model object (an ``Applicant`` or a
    ``RecommendationList`` built in Python, not read from JSON): raise :class:`InputError` with
    every problem, each with its path."""
    problems: list[Problem] = []
    _problems(record, str, problems)
    if problems:
        record_id = getattr(record, "id", None) or getattr(record, "unit", None)
        raise InputError(problems, record_id=record_id if isinstance(record_id, str) else None)


# --------------------------------------------------------------------------- nesting

def nesting_depth(value: Any, stop: int = DEPTH) -> int:
    """The levels of arrays and objects of a parsed JSON value (a scalar is 0), or ``stop + 1``
    when it is deeper than ``stop``.  Without recursion, and only over the containers."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if level > deepest:
            deepest = level
            if deepest > stop:
                return deepest
        pending.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def may_be_deeper(raw: bytes | str, stop: int = DEPTH) -> bool:
    """Whether the JSON text ``raw`` could nest deeper than ``stop``: not when it has no more
    opening brackets than that (counted at C speed, brackets in strings included)."""
    return raw.count(b"[" if isinstance(raw, bytes) else "[") + raw.count(b"{" if isinstance(raw, bytes) else "{") > stop

