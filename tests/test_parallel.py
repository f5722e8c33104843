"""``taian-titles evaluate --jobs N``: worker processes, answers in input order, nothing lost.

The output of N jobs must be byte for byte that of one process (every format, errors
included); a worker that dies or a chunk that fails costs no other record its answer; input
that ends within the first chunk is evaluated without starting a worker; a caller that writes
one line and waits is answered.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taian_titles import parallel
from taian_titles.cli import main
from taian_titles.io import Raw, jsonl_bytes
from taian_titles.policy import default_policy

from . import parallel_faults
from .test_cli import _readline, expected, minimal, needs_script

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SCRIPT = Path(sys.executable).parent / "taian-titles"


def _lines(n: int) -> list[str]:
    """``n`` JSON Lines: the examples with fresh ids, a line that is not JSON and a bad record now and then."""
    templates = [json.loads(line) for line in (EXAMPLES / "applicants.jsonl").read_text("utf-8").splitlines()
                 if line.strip()]
    out = []
    for i in range(n):
        if i % 97 == 13:
            out.append('{"id": "broken-%d", "certificates": [' % i)
        elif i % 101 == 50:
            out.append(json.dumps({"id": f"bad-{i}", "certificates": 3}))
        else:
            out.append(json.dumps({**templates[i % len(templates)], "id": f"P-{i:05d}"}, ensure_ascii=False))
    return out


@pytest.fixture(scope="module")
def roster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("parallel") / "many.jsonl"
    path.write_text("\n".join(_lines(450)) + "\n", encoding="utf-8")
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def submitted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many chunks the parent sent to worker processes."""
    sent: list[int] = []
    real = parallel._Pool.submit

    def counting(self: Any, part: Any) -> Any:
        sent.append(len(part))
        return real(self, part)

    monkeypatch.setattr(parallel._Pool, "submit", counting)
    return sent


@pytest.mark.parametrize("fmt", ["jsonl", "json", "text", "html"])
def test_two_jobs_write_what_one_process_writes(fmt: str, roster: Path, tmp_path: Path, capsys: Any,
                                                submitted: list[int]) -> None:
    one = _run(capsys, "evaluate", str(roster), "--format", fmt, "--jobs", "1", "--no-progress",
               "--summary", str(tmp_path / "one.json"))
    assert not submitted
    two = _run(capsys, "evaluate", str(roster), "--format", fmt, "--jobs", "2", "--no-progress",
               "--summary", str(tmp_path / "two.json"))
    assert sum(submitted) == 450 and len(submitted) >= 2  # the records went to workers, in chunks
    assert one[0] == two[0] == 1  # some records had errors
    assert one[1] == two[1]
    assert one[2] == two[2]  # the summary on standard error
    assert (tmp_path / "one.json").read_bytes() == (tmp_path / "two.json").read_bytes()


def test_an_array_in_three_jobs_gives_the_same_array(tmp_path: Path, capsys: Any, submitted: list[int]) -> None:
    array = tmp_path / "many.json"
    records = [json.loads(line) for line in _lines(430) if not line.endswith("[")]
    array.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    one = _run(capsys, "evaluate", str(array), "--jobs", "1")
    three = _run(capsys, "evaluate", str(array), "--jobs", "3", "--group-by", "as_of",
                 "--summary", str(tmp_path / "s3.md"))
    _run(capsys, "evaluate", str(array), "--jobs", "1", "--group-by", "as_of", "--summary", str(tmp_path / "s1.md"))
    assert submitted
    assert one[1] == three[1] and json.loads(one[1])[0]["id"] == records[0]["id"]
    assert (tmp_path / "s1.md").read_text("utf-8") == (tmp_path / "s3.md").read_text("utf-8")


def test_split_letters_and_a_workbook_are_the_same_in_two_jobs(roster: Path, tmp_path: Path, capsys: Any,
                                                              submitted: list[int]) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    for jobs in ("1", "2"):
        assert main(["evaluate", str(roster), "--split", str(tmp_path / f"split{jobs}"), "--format", "html",
                     "--jobs", jobs, "--no-progress"]) == 1
        assert main(["evaluate", str(roster), "--format", "xlsx", "-o", str(tmp_path / f"out{jobs}.xlsx"),
                     "--jobs", jobs, "--no-progress"]) == 1
    capsys.readouterr()
    assert submitted
    files1 = sorted(p.name for p in (tmp_path / "split1").iterdir())
    assert files1 == sorted(p.name for p in (tmp_path / "split2").iterdir()) and len(files1) == 451
    for name in files1:
        assert (tmp_path / "split1" / name).read_bytes() == (tmp_path / "split2" / name).read_bytes(), name

    def cells(path: Path) -> list[list[Any]]:
        book = openpyxl.load_workbook(path, read_only=True)
        return [[list(row) for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets]

    assert cells(tmp_path / "out1.xlsx") == cells(tmp_path / "out2.xlsx")


# --------------------------------------------------------------------------- failures

def _job() -> parallel.Job:
    return parallel.Job(rulesets=(), as_of=None, fmt="jsonl", shape="lines", lang="zh")


def _items(n: int, poison: int) -> list[tuple[int, Any]]:
    lines = _lines(n)
    lines[poison] = json.dumps({**json.loads(lines[poison]), "id": "poison"})
    return [(i + 1, Raw(line.encode("utf-8"))) for i, line in enumerate(lines)]


def _serial(items: list[tuple[int, Any]]) -> list[Any]:
    state = parallel._State(_job(), default_policy(), binary=True)  # JSON Lines as UTF-8, as workers send it
    return [state.answer(index, line, record) for index, (line, record) in enumerate(items)]


@pytest.mark.parametrize("task", [parallel_faults.dies_on_poison, parallel_faults.raises_on_poison],
                         ids=["worker dies", "chunk raises"])
def test_a_failing_worker_costs_no_other_record_its_answer(task: Any) -> None:
    items = _items(60, poison=23)
    got = list(parallel.answers(items, _job(), 2, default_policy(), chunk=4, window=3, task=task))
    assert [index for index, *_ in got] == list(range(60))
    want = _serial(items)
    for (index, line, _record, result), expected_result in zip(got, want):
        if index == 23:
            is_error, piece, counted, _group = result
            entry = json.loads(piece)
            assert is_error and counted == (True, (), None, ())
            assert entry["id"] == "poison" and entry["error"]["kind"] == "internal" and entry["error"]["line"] == 24
        else:
            assert result == expected_result, index


def test_input_that_fits_in_one_chunk_starts_no_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_workers(self: Any, part: Any) -> Any:
        raise AssertionError("a worker was started for a small input")

    monkeypatch.setattr(parallel._Pool, "submit", no_workers)
    items = _items(5, poison=0)
    got = [result for *_, result in parallel.answers(items, _job(), 2, default_policy(), chunk=10)]
    assert got == _serial(items)


def test_an_input_that_fails_while_read_fails_after_the_answers_before_it() -> None:
    items = _items(9, poison=0)

    def reading():
        yield from items
        raise OSError("the disk went away")

    seen = []
    with pytest.raises(OSError, match="disk went away"):
        for index, *_ in parallel.answers(reading(), _job(), 2, default_policy(), chunk=4):
            seen.append(index)
    assert seen == list(range(9))


def test_jobs_must_be_one_or_more(capsys: Any) -> None:
    assert main(["evaluate", str(EXAMPLES / "applicant-a0001.json"), "--jobs", "0"]) == 2
    assert "--jobs" in capsys.readouterr().err


def test_the_default_is_the_cores_available() -> None:
    import os

    assert parallel.default_jobs() == len(os.sched_getaffinity(0))


@needs_script
def test_two_jobs_answer_each_line_before_reading_the_next() -> None:
    proc = subprocess.Popen([str(SCRIPT), "evaluate", "-", "--jobs", "2"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for i in range(3):
            proc.stdin.write((json.dumps(minimal(i)) + "\n").encode("utf-8"))
            proc.stdin.flush()
            assert json.loads(_readline(proc)) == expected(minimal(i))
        proc.stdin.write(b'{"id": "broken"\n')
        proc.stdin.flush()
        assert json.loads(_readline(proc))["error"]["line"] == 4
        proc.stdin.close()
        assert proc.wait(timeout=60) == 1
    finally:
        proc.kill()
        proc.wait()


def test_a_pool_found_broken_when_a_chunk_is_sent_costs_that_chunk_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker can die between two looks at the chunks in flight: sending the next chunk then
    raises BrokenProcessPool (seen under load).  That chunk's records are answered one by one."""
    from concurrent.futures.process import BrokenProcessPool

    real_submit = parallel._Pool.submit
    refused: list[list[Any]] = []

    def submit(self: Any, part: Any) -> Any:
        if len(part) > 1 and part[0][0] == 8 and not refused:
            refused.append(part)
            raise BrokenProcessPool("a child process terminated abruptly")
        return real_submit(self, part)

    monkeypatch.setattr(parallel._Pool, "submit", submit)
    items = _items(20, poison=0)
    got = list(parallel.answers(items, _job(), 2, default_policy(), chunk=4, window=3))
    assert refused and [index for index, *_ in got] == list(range(20))
    assert [result for *_, result in got] == _serial(items)


def _json_values(floats: bool) -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers() | st.text()
    if floats:
        scalars = scalars | st.floats(allow_nan=False)
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=5), inner, max_size=4), max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(_json_values(floats=False), _json_values(floats=True))
def test_a_workers_json_lines_bytes_are_what_the_command_writes(value, meta) -> None:
    # Workers send JSON Lines answers as UTF-8 (orjson where it writes the same bytes): exactly
    # the text one process writes, encoded as the output encodes it (a lone surrogate escaped).
    # An answer holds strings, integers, booleans and null; only the caller's meta may hold
    # floats (which orjson could write otherwise: json.dumps writes it then).
    for entry in ({"id": "x", "outcomes": [{"code": "c", "explanation": {"zh": "说明\u2028", "en": "x\x1b"}}],
                   "extra": value},
                  {"id": "x", "meta": meta}, {"id": "\ud800", "extra": value}):
        text = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
        assert jsonl_bytes(entry) == text.encode("utf-8", "backslashreplace")


def test_a_workers_chunk_is_evaluated_as_one_process_batches_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker evaluates its chunk (CHUNK records) BATCH at a time, as one process evaluates a
    file (a larger batch outgrows the processor's caches: 7% slower an applicant at 200), and
    answers exactly what one process answers record by record, bad lines included."""
    from taian_titles import api

    sizes: list[int] = []
    real = api.evaluate_records

    def spying(items: Any, **kwargs: Any) -> Any:
        sizes.append(len(items))
        return real(items, **kwargs)

    monkeypatch.setattr(api, "evaluate_records", spying)
    items = _items(parallel.CHUNK, poison=0)  # a line that is not JSON and a bad record now and then
    part = [(index, line, record) for index, (line, record) in enumerate(items)]
    got = parallel._State(_job(), default_policy(), batched=True, binary=True).chunk(part)
    assert got == _serial(items)
    assert sum(sizes) == sum(1 for _, raw in items if not raw.data.endswith(b"["))  # every parsable record
    assert len(sizes) == -(-parallel.CHUNK // api.BATCH) and max(sizes) <= api.BATCH
