"""Strict input and output that is whole or absent (issue 19), through the command as a process.

* Strict input: a key given twice is that record's error naming the key; an input that never
  ends (``/dev/zero``) is refused after a bounded read; a ruleset that is not a regular file (a
  FIFO, a device) is refused without blocking; ruleset dates with a time of day, fields of the
  wrong type and derivation cycles are problems naming the entry, never an internal error.
* Output: ``-o FILE`` replaces FILE only once every record has its entry (exit 0 or 1); a run
  that stops (exit 2, a signal) leaves FILE as it was and no temporary file behind; a full disk
  exits 3 and a closed pipe 4, each with one line on standard error.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from taian_titles.limits import INPUT_BYTES
from taian_titles.ruleset import default_ruleset_path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
APPLICANTS = EXAMPLES / "applicants.jsonl"
COMMAND = [sys.executable, "-m", "taian_titles.cli"]
GUARD = 120  # seconds: a generous bound on any one run, so that a hang fails instead of blocking


def command(*args: str, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([*COMMAND, *args], capture_output=True, timeout=GUARD, **kwargs)
    assert b"Traceback" not in result.stderr, result.stderr.decode(errors="replace")
    return result


def one_line(stderr: bytes) -> str:
    lines = stderr.decode().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


# --------------------------------------------------------------------------- strict input

@pytest.mark.parametrize("shape", ["lines", "array", "object"])
def test_a_key_given_twice_is_that_records_error_naming_the_key(shape, tmp_path):
    good = APPLICANTS.read_text("utf-8").splitlines()[0]
    twice = ('{"id": "A", "as_of": "2025-06-01", "id": "B", "certificates": [{"number": "N", "number": "M"}], '
             '"certificates": []}')
    text = {"lines": f"{twice}\n{good}\n", "array": f"[{twice},\n{good}]", "object": twice.replace(", ", ",\n  ")}[shape]
    source = tmp_path / "twice.json"
    source.write_text(text, encoding="utf-8")
    result = command("evaluate", str(source), "--format", "jsonl")
    answers = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert result.returncode == 1
    problems = {(p["path"], p["code"]) for p in answers[0]["error"]["problems"]}
    assert {("id", "duplicate_key"), ("certificates", "duplicate_key")} <= problems
    if shape != "object":  # inside an array the nested object is the first certificates' (the one kept is the last)
        assert len(answers) == 2 and "outcomes" in answers[1]
    message = answers[0]["error"]["problems"][0]["message"]
    assert "appears 2 times" in message


def test_an_input_that_never_ends_is_refused_after_a_bounded_read():
    result = command("evaluate", "/dev/zero")
    assert result.returncode == 2 and f"{INPUT_BYTES:,}" in one_line(result.stderr)


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_a_ruleset_that_is_not_a_regular_file_is_refused_without_blocking(kind, tmp_path):
    path = {"device": Path("/dev/zero"), "directory": tmp_path}.get(kind, tmp_path / "ruleset.toml")
    if kind == "fifo":
        os.mkfifo(path)  # nobody ever writes to it: reading it would block for ever
    result = command("ruleset", "check", str(path))
    assert result.returncode == 1 and "regular" in result.stderr.decode()
    result = command("evaluate", str(EXAMPLES / "applicant-a0001.json"), "--ruleset", str(path))
    assert result.returncode == 2 and "regular" in one_line(result.stderr)


SHIPPED = default_ruleset_path().read_text("utf-8")


def _first_rule_line(prefix: str) -> str:
    start = SHIPPED.index("[[rules]]")
    at = SHIPPED.index(prefix, start)
    return SHIPPED[at:SHIPPED.index("\n", at)]


CYCLE = """
[[rules]]
id = "cycle-a"
clause = "M9-1"
stage = "derive"
when = ["h: held_certificate"]
then = { derive = "held_certificate", copy = "h", basis = ["h"] }
"""


@pytest.mark.parametrize("edit, named", [
    (lambda t: t.replace("value = 2025-04-30\n", "value = 2025-04-30T08:00:00\n", 1),
     "[parameters.in_force_from].value: 2025-04-30T08:00:00 has a time of day"),
    (lambda t: t.replace('clause = "M9-1"\ndecision = 13', "clause = 5\ndecision = 13", 1),
     "[parameters.in_force_from]: clause 5 is not one of"),
    (lambda t: t.replace(_first_rule_line("when = ["), "when = [5]", 1), "when[0] 5: 5 is not text"),
    (lambda t: t + CYCLE, "rules 'cycle-a' → 'cycle-a' conclude facts that make one another fire"),
], ids=["time-of-day", "clause-number", "when-number", "cycle"])
def test_ruleset_mistakes_are_problems_naming_the_entry(edit, named, tmp_path):
    edited = edit(SHIPPED)
    assert edited != SHIPPED
    path = tmp_path / "edited.toml"
    path.write_text(edited, encoding="utf-8")
    result = command("ruleset", "check", str(path))
    err = result.stderr.decode()
    assert result.returncode == 1 and named in err and "internal error" not in err


# --------------------------------------------------------------------------- output whole or absent

OLD = "the answers of an earlier run\n"


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_o_replaces_the_file_once_every_record_has_its_entry(tmp_path):
    target = tmp_path / "answers.json"
    target.write_text(OLD, encoding="utf-8")
    os.chmod(target, 0o640)
    result = command("evaluate", str(EXAMPLES / "applicants-with-errors.jsonl"), "--format", "jsonl", "-o", str(target))
    assert result.returncode == 1  # some records are bad: they have their entries, the file is whole
    lines = target.read_text("utf-8").splitlines()
    assert len(lines) == sum(1 for line in (EXAMPLES / "applicants-with-errors.jsonl").read_text("utf-8").splitlines()
                             if line.strip())
    assert stat.S_IMODE(target.stat().st_mode) == 0o640 and _leftovers(tmp_path) == []


def test_a_run_that_stops_midway_leaves_the_old_file_as_it_was(tmp_path):
    source = tmp_path / "stops.jsonl"
    with source.open("wb") as f:  # two good lines, then one that never ends within the input limit
        f.write(APPLICANTS.read_bytes().splitlines(keepends=True)[0] * 2)
        f.truncate(f.tell() + INPUT_BYTES + 10)
    target = tmp_path / "answers.json"
    target.write_text(OLD, encoding="utf-8")
    result = command("evaluate", str(source), "--format", "jsonl", "-o", str(target))
    assert result.returncode == 2 and "line 3" in one_line(result.stderr)
    assert target.read_text("utf-8") == OLD and _leftovers(tmp_path) == []


def test_a_signal_leaves_the_old_file_as_it_was_and_exits_143(tmp_path):
    target = tmp_path / "answers.json"
    target.write_text(OLD, encoding="utf-8")
    process = subprocess.Popen([*COMMAND, "evaluate", "-", "--format", "jsonl", "-o", str(target)],
                               stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdin is not None
    process.stdin.write(APPLICANTS.read_bytes().splitlines(keepends=True)[0])
    process.stdin.flush()
    deadline = time.monotonic() + GUARD
    # the first answer is in the temporary file (the command waits for the next line)
    while not any((tmp_path / name).stat().st_size for name in _leftovers(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=GUARD)
    assert process.returncode == 143 and b"Traceback" not in err
    assert target.read_text("utf-8") == OLD and _leftovers(tmp_path) == []


def test_a_full_disk_exits_3_with_one_line():
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    result = command("evaluate", str(APPLICANTS), "-o", "/dev/full")
    assert result.returncode == 3 and "/dev/full" in one_line(result.stderr)


def test_a_closed_pipe_exits_4_with_one_line(tmp_path):
    source = tmp_path / "many.jsonl"  # letters far longer than a pipe's buffer (64 KiB)
    source.write_bytes(APPLICANTS.read_bytes() * 100)
    process = subprocess.Popen([*COMMAND, "evaluate", str(source), "--format", "text", "--jobs", "1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.read(10)
    process.stdout.close()  # the reader goes away, as `| head -c 10` does
    err = process.stderr.read() if process.stderr else b""
    process.wait(timeout=GUARD)
    assert process.returncode == 4 and b"Traceback" not in err
    assert "closed by its reader" in one_line(err)


def test_control_characters_in_records_do_not_stop_a_workbook(tmp_path):
    # A worksheet cannot hold control characters (openpyxl raised IllegalCharacterError and the
    # whole workbook was lost, exit 2): they are written as visible escapes, like the letters'.
    from openpyxl import load_workbook

    base = json.loads((EXAMPLES / "applicant-a0001.json").read_text("utf-8"))
    source = tmp_path / "controls.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in [
        {**base, "id": "A\x1b[2J\x00\u202e"}, {**base, "id": "B", "name": "N\x07"}, base]), encoding="utf-8")
    target = tmp_path / "answers.xlsx"
    result = command("evaluate", str(source), "--format", "xlsx", "-o", str(target), "--group-by", "name")
    assert result.returncode == 0
    book = load_workbook(target)
    rows = [[c.value for c in row] for row in book.worksheets[0].iter_rows(min_row=2)]
    assert [row[1] for row in rows] == ["A\\u001b[2J\\u0000\\u202e", "B", base["id"]]
    assert rows[1][2] == "N\\u0007"
    assert ["N\\u0007", 1] == [c.value for c in list(book.worksheets[-1].iter_rows())[-1]][:2]
    lists = tmp_path / "lists.json"
    lists.write_text(json.dumps([{"unit": "泰山区\x1b[2J", "as_of": "2025-09-01",
                                  "candidates": [{"id": "C\x00", "skill_level": "apprentice", "digital": False}]},
                                 5]), encoding="utf-8")
    result = command("quota", str(lists), "--format", "xlsx", "-o", str(tmp_path / "quota.xlsx"))
    assert result.returncode == 1  # the second list is bad input: its own row
    sheet = load_workbook(tmp_path / "quota.xlsx").worksheets[0]
    assert sheet.cell(row=2, column=1).value == "泰山区\\u001b[2J"
