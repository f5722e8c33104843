"""One pass over a batch, as both doors run it: records read (:mod:`taian_titles.io`), each one
answered (:mod:`taian_titles.api`), the answers written (:class:`taian_titles.io.Writer`).

The ``taian-titles`` command and the HTTP service (:mod:`taian_titles.server`) call the same
functions here with the same reader and writer, which is what makes the service's JSON
byte-identical to the command's for the same input.
"""

from __future__ import annotations

import datetime as _dt
import itertools
from typing import Any, Callable, Iterable, Iterator

from .api import BATCH, BatchError, check_quota_record, evaluate_record, evaluate_records
from .decision import Decision, QuotaError, QuotaResult
from .io import Item, Unparsable, Writer
from .policy import Policy

__all__ = ["evaluate_entry", "evaluate_entries", "quota_entry", "write_evaluations", "write_quota"]


def evaluate_entry(index: int, line: int | None, record: Any, *, as_of: _dt.date | None, policy: Policy,
                   lenient: bool = False) -> tuple[Decision | BatchError, dict[str, Any]]:
    """One applicant of a batch: its answer and the JSON entry written for it (an error entry
    names its input line, for JSON Lines)."""
    evaluated = None if isinstance(record, Unparsable) else evaluate_record(
        index, record, as_of=as_of, policy=policy, lenient=lenient)
    return _settled(index, line, record, evaluated)


def evaluate_entries(items: Iterable[Item], *, as_of: _dt.date | None, policy: Policy, lenient: bool = False,
                     size: int = BATCH) -> Iterator[tuple[int, int | None, Any, Decision | BatchError, dict[str, Any]]]:
    """:func:`evaluate_entry` of every record, in input order, as ``(index, line, record, answer,
    entry)``: the same answers, with the engine runs of ``size`` records at a time sharing
    sessions (:func:`taian_titles.api.evaluate_records`, which never raises: a failed shared
    session is run again applicant by applicant).  At most ``size`` records are held at once."""
    numbered = enumerate(items)
    while True:
        part = list(itertools.islice(numbered, size))
        if not part:
            return
        evaluable = [(index, record) for index, (_, record) in part if not isinstance(record, Unparsable)]
        answers = iter(evaluate_records(evaluable, as_of=as_of, policy=policy, lenient=lenient))
        for index, (line, record) in part:
            evaluated = None if isinstance(record, Unparsable) else next(answers)
            yield index, line, record, *_settled(index, line, record, evaluated)


def _settled(index: int, line: int | None, record: Any, evaluated: Decision | BatchError | None
             ) -> tuple[Decision | BatchError, dict[str, Any]]:
    """A record's answer (``evaluated``, None for a record that could not be read) and its entry."""
    answer: Decision | BatchError
    if evaluated is None:
        answer = BatchError(index, record.id, record.error())
    else:
        answer = evaluated
        settle = getattr(record, "settle", None)  # a roster's row: problems located at their cells
        if settle:
            answer = settle(answer, index)
    entry = answer.to_dict()
    if line is not None and isinstance(answer, BatchError):
        entry["error"]["line"] = line
    return answer, entry


def quota_entry(index: int, line: int | None, record: Any, *, as_of: _dt.date | None, policy: Policy,
                lenient: bool = False) -> tuple[QuotaResult | QuotaError, dict[str, Any]]:
    """One recommendation list of a batch: its answer and its JSON entry."""
    answer: QuotaResult | QuotaError
    if isinstance(record, Unparsable):
        code, clause = policy.quota_outcome()
        answer = QuotaError(index, None, record.error(), code, clause)
    else:  # bad input or a fault becomes this list's entry; the rest go on
        answer = check_quota_record(index, record, as_of=as_of, policy=policy, lenient=lenient)
        settle = getattr(record, "settle", None)  # a roster's list: problems at their cells
        if settle:
            answer = settle(answer, index)
    entry = answer.to_dict()
    if line is not None and isinstance(answer, QuotaError):
        entry["error"]["line"] = line
    return answer, entry


def write_evaluations(items: Iterable[Item], writer: Writer, *, as_of: _dt.date | None, policy: Policy,
                      lenient: bool = False, where: Callable[[int, int | None], str] | None = None) -> int:
    """Evaluate every record and write its answer as it comes; returns how many were errors.

    ``where`` names a record's place for an error letter (``line 4``).
    """
    errors = 0
    writer.start()
    for index, (line, record) in enumerate(items):
        answer, entry = evaluate_entry(index, line, record, as_of=as_of, policy=policy, lenient=lenient)
        is_error = isinstance(answer, BatchError)
        errors += is_error
        writer.write(answer, entry, is_error, where(index, line) if where and is_error else "")
    writer.finish()
    return errors


def write_quota(items: Iterable[Item], writer: Writer, *, as_of: _dt.date | None, policy: Policy,
                lenient: bool = False) -> int:
    """Check every list and write its JSON entry as it comes; returns how many were errors."""
    errors = 0
    writer.start()
    for index, (line, record) in enumerate(items):
        answer, entry = quota_entry(index, line, record, as_of=as_of, policy=policy, lenient=lenient)
        is_error = isinstance(answer, QuotaError)
        errors += is_error
        writer.write(answer, entry, is_error)
    writer.finish()
    return errors
