"""Hostile input, generated: through the API and through the command as a process.

Records are drawn good (``taian_titles.strategies``) and then spoiled: a field set to a hostile
string (control and bidi characters, line breaks, NUL, lone surrogates, strings at and past the
length limit, the 65,536-character programme), a wrong type, nesting, a date near 0001 or 9999
or past the range, an unknown field; batches mix them with good records.  Lines given to the
command also include text that is not a record at all: a key given twice, nesting 100,000 deep,
bytes that are not UTF-8, broken JSON.

Whatever the input: never a traceback, never a hang (every case runs under a generous guard, not
a speed check), every record of a batch answered in order, and every good record's answer
identical to its answer alone.  The ``ci`` profile (``make test``) runs few examples,
derandomized; ``make test-deep`` (``HYPOTHESIS_PROFILE=deep``) runs many more.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import taian_titles
from taian_titles.errors import MESSAGES, InputError
from taian_titles.escaping import is_safe
from taian_titles.limits import STRING_CHARS
from taian_titles.render import render_decision, render_error, render_quota_report
from taian_titles.strategies import applicant_dicts, recommendation_list_dicts

DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "deep"
COMMAND = [sys.executable, "-m", "taian_titles.cli"]
GUARD = 300  # seconds for one case: a hang fails, a slow machine does not


def examples(ci: int, deep: int) -> settings:
    """Settings of a property: ``ci`` examples in make test, ``deep`` in make test-deep."""
    return settings(max_examples=deep if DEEP else ci, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.large_base_example])


@contextlib.contextmanager
def guard(seconds: int = GUARD) -> Iterator[None]:
    """Fail, rather than block the suite, when a call has not returned after ``seconds``."""
    def expired(signum: int, frame: Any) -> None:
        raise AssertionError(f"no answer after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --------------------------------------------------------------------------- hostile values

PIECES = ["\x00", "\x1b[2J", "\x1b]0;owned\x07", "\x9b", "\u202e", "\u2066", "\u2069", "\u200f", "\n", "\r\n",
          "\t", "\x85", "\u2028", "\ufeff", "\ud800", "\udfff", "\\", '"', "'", "{x}", "%s", "</p>", "# ", "证",
          "𝕏", "digital_technology_engineer", "人工智能"]
hostile_strings = st.one_of(
    st.lists(st.sampled_from(PIECES) | st.text(max_size=4), min_size=1, max_size=8).map("".join),
    st.sampled_from([STRING_CHARS, STRING_CHARS + 1, 65_535, 65_536, 65_542]).map(lambda n: "x" * n),
    st.just("digital_technology_engineer" + "x" * 65_536),
    st.sampled_from(["TS-01-a", "TS-01-b"]).map(lambda head: head + head[-1] * 65_535),  # the twins
)
hostile_dates = st.sampled_from([
    "0001-01-01", "0001-01-02", "9999-12-30", "9999-12-31", "10000-01-01", "1899-12-31", "1900-01-01",
    "2199-12-31", "2200-01-01", "2024-02-29", "2025-02-29", "2025-13-01", "2025-04-30T08:00:00", "2025-4-30",
    "２０２５-04-30", "", " 2025-04-30"])


def nested(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


wrong_types = st.one_of(st.integers(min_value=-2**70, max_value=2**70), st.floats(allow_nan=True),
                        st.booleans(), st.none(), st.just([]), st.just({}), st.integers(1, 60).map(nested),
                        st.dictionaries(st.sampled_from(["id", "a", ""]), st.integers(), max_size=2))
hostile_values = st.one_of(hostile_strings, hostile_dates, wrong_types)


def _places(record: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place of a record a value can be put: its keys and items, at any depth."""
    if isinstance(record, dict):
        for key, value in record.items():
            yield (*path, key)
            yield from _places(value, (*path, key))
    elif isinstance(record, list):
        for index, value in enumerate(record):
            yield (*path, index)
            yield from _places(value, (*path, index))


@st.composite
def spoiled(draw: Any, good: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """A good record with one to three of its places (or a new field) given hostile values."""
    record = json.loads(json.dumps(draw(good)))
    for _ in range(draw(st.integers(1, 3))):
        places = list(_places(record)) + [("x_extra",), ("id",), ("unit",)]
        place = draw(st.sampled_from(places))
        target = record
        for step in place[:-1]:
            target = target[step]
        if isinstance(target, (dict, list)):
            target[place[-1]] = draw(hostile_values)  # type: ignore[index]
    return record


GOOD_APPLICANTS = applicant_dicts(max_items=2)
GOOD_LISTS = recommendation_list_dicts(max_size=6)
hostile_applicants = st.one_of(spoiled(GOOD_APPLICANTS), wrong_types, hostile_strings)
hostile_lists = st.one_of(spoiled(GOOD_LISTS), wrong_types, hostile_strings)


def alone(record: Any, **kwargs: Any) -> dict[str, Any] | None:
    """The record's answer evaluated alone, as JSON would carry it; None when it is bad input."""
    try:
        return json.loads(json.dumps(taian_titles.evaluate(record, **kwargs).to_dict(), ensure_ascii=False))
    except InputError:
        return None


def quota_alone(record: Any) -> dict[str, Any] | None:
    try:
        return json.loads(json.dumps(taian_titles.check_quota(record).to_dict(), ensure_ascii=False))
    except InputError:
        return None


# --------------------------------------------------------------------------- through the API

@examples(ci=800, deep=5000)
@given(record=hostile_applicants, lenient=st.booleans())
def test_evaluate_answers_or_names_the_problem(record, lenient):
    with guard():
        try:
            decision = taian_titles.evaluate(record, lenient=lenient)
        except InputError as exc:
            assert exc.problems and all(p.code in MESSAGES and p.path for p in exc.problems)
            for fmt in ("text", "markdown"):
                letter = render_error(exc.record_id, exc, fmt, "en")
                assert is_safe(letter.replace("\n", ""))
            json.dumps(exc.to_dict(), ensure_ascii=False)
            return
        json.dumps(decision.to_dict(), ensure_ascii=False)
        for fmt in ("text", "markdown"):
            assert is_safe(render_decision(decision, fmt, "zh").replace("\n", ""))
        render_decision(decision, "html", "en")


@examples(ci=400, deep=3000)
@given(batch=st.lists(st.one_of(GOOD_APPLICANTS, hostile_applicants), min_size=1, max_size=20))
def test_every_good_record_of_a_batch_is_answered_as_alone(batch):
    with guard():
        results = list(taian_titles.evaluate_many(batch))
        assert len(results) == len(batch)
        for index, (record, result) in enumerate(zip(batch, results)):
            expected = alone(record)
            if expected is None:
                assert isinstance(result, taian_titles.BatchError) and result.index == index
                assert result.error.to_dict()["kind"] == "input"
            else:
                assert isinstance(result, taian_titles.Decision)
                assert json.loads(json.dumps(result.to_dict(), ensure_ascii=False)) == expected


@examples(ci=400, deep=3000)
@given(lists=st.lists(st.one_of(GOOD_LISTS, hostile_lists), min_size=1, max_size=12))
def test_every_good_list_of_a_city_report_is_answered_as_alone(lists):
    with guard():
        report = taian_titles.city_report(lists)
        assert len(report.results) == len(lists)
        for record, result in zip(lists, report.results):
            expected = quota_alone(record)
            if expected is None:
                assert isinstance(result, taian_titles.QuotaError)
                assert result.error.to_dict()["kind"] == "input"
            else:
                assert json.loads(json.dumps(result.to_dict(), ensure_ascii=False)) == expected
        json.dumps(report.to_dict(), ensure_ascii=False)
        for fmt in ("text", "markdown"):
            assert is_safe(render_quota_report(report, fmt, "zh").replace("\n", ""))


# --------------------------------------------------------------------------- through the command

BROKEN = b'{"id": "broken", '
#: Lines that are not a record: each is answered by an error entry of its own.
NOT_RECORDS = [
    b'{"id": "A", "as_of": "2025-06-01", "id": "B", "certificates": [], "certificates": []}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"id": "D", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"id": "\xff\xfe not UTF-8"}',
    b'{"id": "\\ud800", "as_of": "2025-06-01"}',
    BROKEN,
    b"null", b"5", b'"text"', b"[]",
    b'{"id": "N", "as_of": "2025-06-01", "certificates": [{"number": 1e999999}]}',
    b'{"id": "I", "as_of": "2025-06-01", "certificates": 123456789012345678901234567890}',
]


@st.composite
def command_lines(draw: Any, good: st.SearchStrategy[dict[str, Any]], hostile: st.SearchStrategy[Any]
                  ) -> list[tuple[bytes, Any]]:
    """Lines of JSON Lines: (the line, the record it carries or None when it is not one)."""
    out: list[tuple[bytes, Any]] = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.integers(0, 3))
        if kind == 0:
            out.append((draw(st.sampled_from(NOT_RECORDS)), None))
            continue
        record = draw(good if kind == 1 else hostile)
        text = json.dumps(record, ensure_ascii=draw(st.booleans()))
        out.append((text.encode("utf-8", "surrogatepass"), record))
    if out[0][0].lstrip().startswith(b"["):  # a first line that opens an array makes the input an array
        record = draw(good)
        out.insert(0, (json.dumps(record).encode(), record))
    return out


def _run(tmp_path: Path, *args: str, data: bytes) -> subprocess.CompletedProcess:
    source = tmp_path / "input.jsonl"
    source.write_bytes(data)
    result = subprocess.run([*COMMAND, *args, str(source)], capture_output=True, timeout=GUARD)
    assert b"Traceback" not in result.stderr, result.stderr.decode(errors="replace")
    return result


def _json_alone(line: bytes) -> bool:
    try:
        json.loads(line.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        return False
    return True


def _check_answers(result: subprocess.CompletedProcess, lines: list[tuple[bytes, Any]], answer_alone: Any) -> None:
    if lines[0][0] == BROKEN and not any(_json_alone(line) for line, _ in lines[1:]):
        # A first line that is not JSON starts an object over several lines, unless a later line
        # is JSON on its own (then it is JSON Lines with a bad first line): here, not JSON at all.
        assert result.returncode == 2 and result.stdout == b""
        assert len(result.stderr.decode().splitlines()) == 1
        return
    answers = [json.loads(line) for line in result.stdout.split(b"\n") if line]  # not str.splitlines: U+2028 is text
    assert len(answers) == len(lines)  # every record answered, in order
    bad = 0
    for (_, record), answer in zip(lines, answers):
        expected = None if record is None or not isinstance(record, dict) else answer_alone(record)
        if expected is None:
            assert "error" in answer
            bad += 1
        else:
            assert answer == expected
    assert result.returncode == (1 if bad else 0)


@pytest.mark.slow
@examples(ci=16, deep=300)
@given(lines=command_lines(GOOD_APPLICANTS, hostile_applicants))
def test_the_command_answers_every_line_and_good_lines_as_alone(lines, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("fuzz")
    data = b"".join(line + b"\n" for line, _ in lines)
    _check_answers(_run(tmp_path, "evaluate", "--format", "jsonl", data=data), lines, alone)
    letters = _run(tmp_path, "evaluate", "--format", "text", data=data)
    assert letters.returncode in (0, 1)
    assert is_safe(letters.stdout.decode("utf-8").replace("\n", ""))


@pytest.mark.slow
@examples(ci=10, deep=150)
@given(lines=command_lines(GOOD_LISTS, hostile_lists))
def test_the_quota_command_answers_every_list_and_good_lists_as_alone(lines, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("fuzz")
    data = b"".join(line + b"\n" for line, _ in lines)
    _check_answers(_run(tmp_path, "quota", "--format", "jsonl", data=data), lines, quota_alone)


@pytest.mark.slow
@examples(ci=10, deep=150)
@given(lines=command_lines(GOOD_APPLICANTS, hostile_applicants))
def test_an_array_of_hostile_records_is_answered_element_by_element(lines, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("fuzz")
    elements = [line for line, _ in lines]
    data = b"[" + b",\n".join(elements) + b"]"
    result = _run(tmp_path, "evaluate", "--format", "jsonl", data=data)
    if result.returncode == 2:  # an element whose end cannot be found makes the array not JSON
        assert BROKEN in elements
        assert len(result.stderr.decode().splitlines()) == 1 and result.stdout == b""
        return
    _check_answers(result, lines, alone)
