"""The ``taian-titles`` command: input shapes, output formats, exit statuses, streaming.

Most tests call ``main([...])`` in-process; some run the installed console script in a real
process (exit statuses, a co-process conversation, constant memory on a long JSON Lines
file).  What the command answers is compared with what the Python API answers for the same
records: the command is the API's JSON door, nothing more.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import taian_titles
from taian_titles.cli import main
from taian_titles.render import quota_summary_line
from taian_titles.ruleset import default_ruleset_path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
APPLICANTS = EXAMPLES / "applicants.jsonl"
WITH_ERRORS = EXAMPLES / "applicants-with-errors.jsonl"
CITY = EXAMPLES / "city-2025.json"
SCRIPT = Path(sys.executable).parent / "taian-titles"


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def minimal(i: int, as_of: str = "2025-06-01") -> dict:
    return {"id": f"R-{i:06d}", "as_of": as_of,
            "certificates": [{"number": f"N-{i}", "programme": "digital_technology_engineer",
                              "kind": "professional_level", "level": "junior", "direction": "人工智能",
                              "issued_on": "2023-10-20"}]}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def only_the_summary(err: str, records: int | None = None) -> bool:
    """Standard error holds nothing but the batch summary that every evaluate run ends with."""
    lines = err.splitlines()
    first = re.fullmatch(r"taian-titles: 共 (\d+) 条记录：已评估 \d+ 条，有误 \d+ 条(（错误条目已写入输出）)?", lines[0]) \
        if lines else None
    return bool(first) and all(line.startswith("  ") for line in lines[1:]) and len(lines) <= 5 \
        and (records is None or int(first.group(1)) == records)


def write(tmp_path: Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def expected(record: dict, **kwargs) -> dict:
    return taian_titles.evaluate(record, **kwargs).to_dict()


# --------------------------------------------------------------------------- evaluate: shapes

def test_one_object_gives_one_object(capsys):
    status, out, err = run(capsys, "evaluate", str(EXAMPLES / "applicant-a0001.json"))
    assert status == 0 and only_the_summary(err, 1)
    answer = json.loads(out)
    assert answer == expected(json.loads((EXAMPLES / "applicant-a0001.json").read_text("utf-8")))
    assert answer["not_met"][0]["eligible_on"] == "2025-11-20"


def test_array_gives_array_in_input_order(capsys, tmp_path):
    batch = records(APPLICANTS)
    path = write(tmp_path, "batch.json", json.dumps(batch, ensure_ascii=False))
    status, out, _ = run(capsys, "evaluate", path)
    assert status == 0
    assert json.loads(out) == [expected(r) for r in batch]


def test_json_lines_give_one_line_per_record(capsys):
    status, out, _ = run(capsys, "evaluate", str(APPLICANTS))
    lines = out.splitlines()
    assert status == 0
    assert [json.loads(line) for line in lines] == [expected(r) for r in records(APPLICANTS)]


def test_jsonl_format_forces_lines_for_an_array(capsys, tmp_path):
    batch = records(APPLICANTS)[:3]
    path = write(tmp_path, "batch.json", json.dumps(batch, ensure_ascii=False, indent=2))
    status, out, _ = run(capsys, "evaluate", path, "--format", "jsonl")
    assert status == 0
    assert [json.loads(line)["id"] for line in out.splitlines()] == [r["id"] for r in batch]


def test_pretty_printed_object_with_bom_and_crlf(capsys, tmp_path):
    record = json.loads((EXAMPLES / "applicant-a0001.json").read_text("utf-8"))
    text = json.dumps(record, ensure_ascii=False, indent=4).replace("\n", "\r\n")
    path = write(tmp_path, "one.json", b"\xef\xbb\xbf" + text.encode("utf-8"))
    status, out, _ = run(capsys, "evaluate", path)
    assert status == 0
    assert json.loads(out) == expected(record)


def test_json_lines_from_standard_input(capsys, monkeypatch):
    import io

    lines = "\n".join(json.dumps(minimal(i)) for i in range(3)) + "\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(lines.encode("utf-8"))))
    status, out, _ = run(capsys, "evaluate", "-")
    assert status == 0
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["R-000000", "R-000001", "R-000002"]


def test_as_of_overrides_every_record(capsys):
    status, out, _ = run(capsys, "evaluate", str(APPLICANTS), "--as-of", "2025-11-20")
    assert status == 0
    answers = [json.loads(line) for line in out.splitlines()]
    assert {a["as_of"] for a in answers} == {"2025-11-20"}
    # On 2025-11-20 A-0001's three years are complete: the not-met item became an outcome.
    a0001 = answers[0]
    assert "apply_intermediate_title" in [o["code"] for o in a0001["outcomes"]]
    assert "apply_intermediate_title" not in [n["code"] for n in a0001["not_met"]]
    assert answers == [expected(r, as_of="2025-11-20") for r in records(APPLICANTS)]


def test_output_file(capsys, tmp_path):
    target = tmp_path / "out.jsonl"
    status, out, _ = run(capsys, "evaluate", str(APPLICANTS), "-o", str(target))
    assert status == 0 and out == ""
    assert len(target.read_text("utf-8").splitlines()) == len(records(APPLICANTS))


# --------------------------------------------------------------------------- evaluate: errors

def test_bad_records_get_their_own_entries_and_exit_1(capsys):
    status, out, err = run(capsys, "evaluate", str(WITH_ERRORS))
    assert status == 1 and only_the_summary(err)
    answers = [json.loads(line) for line in out.splitlines()]
    source = WITH_ERRORS.read_text("utf-8").splitlines()
    assert len(answers) == len(source)  # nothing lost, nothing added
    by_line = dict(zip(range(1, len(source) + 1), answers))
    for number, line in enumerate(source, 1):
        answer = by_line[number]
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            assert answer["error"]["path"] == "$"
            assert f"line {number}" in answer["error"]["message"]
            assert answer["error"]["line"] == number
            assert answer["id"] == re.search(r'"id": "([^"]+)"', line).group(1)  # recovered
            continue
        try:
            want = expected(record)
        except taian_titles.InputError as exc:
            assert set(answer) == {"id", "error", "exchange_version"}
            assert answer["id"] == record.get("id")
            assert answer["error"]["path"] == exc.path
            assert answer["error"]["line"] == number
            assert [p["path"] for p in answer["error"]["problems"]] == [p.path for p in exc.problems]
        else:
            assert answer == want
    assert sum("error" in a for a in answers) == 4  # the four bad lines of the example file


def test_array_with_a_bad_record_keeps_the_others(capsys, tmp_path):
    batch = [minimal(1), {"id": "BAD", "certificates": [{"number": 7}]}, "not an object", minimal(2)]
    path = write(tmp_path, "batch.json", json.dumps(batch))
    status, out, _ = run(capsys, "evaluate", path)
    answers = json.loads(out)
    assert status == 1
    assert answers[0] == expected(minimal(1)) and answers[3] == expected(minimal(2))
    assert answers[1]["id"] == "BAD" and answers[1]["error"]["path"].startswith("certificates[0]")
    assert answers[2] == {"id": None, "error": answers[2]["error"], "exchange_version": "1.1"}
    assert answers[2]["error"]["path"] == "$"


def test_json_lines_with_a_bad_first_line(capsys, tmp_path):
    text = '{"id": "X-1", "as_of": 2025-06-01}\n' + json.dumps(minimal(1)) + "\n"
    status, out, _ = run(capsys, "evaluate", write(tmp_path, "b.jsonl", text))
    answers = [json.loads(line) for line in out.splitlines()]
    assert status == 1
    assert answers[0]["id"] == "X-1" and "line 1 is not valid JSON" in answers[0]["error"]["message"]
    assert answers[1] == expected(minimal(1))


def test_a_line_that_is_not_utf8_is_that_records_error(capsys, tmp_path):
    data = (json.dumps(minimal(1)) + "\n").encode() + b'{"id": "\xff"}\n' + (json.dumps(minimal(2)) + "\n").encode()
    status, out, _ = run(capsys, "evaluate", write(tmp_path, "b.jsonl", data))
    answers = [json.loads(line) for line in out.splitlines()]
    assert status == 1 and len(answers) == 3
    assert "line 2 is not UTF-8" in answers[1]["error"]["message"]


@pytest.mark.parametrize("argv, message", [
    (["evaluate", "no-such-file.json"], "no such file: no-such-file.json"),
    (["evaluate", "{tmp}"], "is a directory"),
    (["evaluate", "{tmp}/notjson.txt"], "the input is not JSON"),
    (["evaluate", "{tmp}/array.json"], "the input is not JSON"),
    (["evaluate", "{tmp}/empty.json"], "the input is empty"),
    (["evaluate", "{tmp}/two.json"], "unexpected data after the JSON object"),
    (["evaluate", str(APPLICANTS), "--as-of", "2025-02-30"], "--as-of: '2025-02-30' is not a valid date"),
    (["evaluate", str(APPLICANTS), "--ruleset", "{tmp}/bad.toml"], "unusable ruleset"),
    (["evaluate", str(APPLICANTS), "--format", "pdf"], "invalid choice: 'pdf'"),
    (["evaluate"], "required: FILE"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["quota", "no-such-file.json"], "no such file"),
    (["ruleset", "check", "no-such.toml"], "no such file"),
])
def test_unusable_input_exits_2_with_one_line(capsys, tmp_path, argv, message):
    write(tmp_path, "notjson.txt", "id,as_of\nA-1,2025-06-01\n")
    write(tmp_path, "array.json", '[{"id": "A"},\n {"id": ')
    write(tmp_path, "empty.json", "\n \n")
    write(tmp_path, "two.json", '{"id": "A",\n "as_of": "2025-06-01"}\n{"id": "B",\n "as_of": "2025-06-01"}\n')
    write(tmp_path, "bad.toml", "[ruleset]\nid = 'x'\n")
    status, out, err = run(capsys, *[a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert status == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and message in err
    assert err.startswith("taian-titles: ") and "Traceback" not in err


def test_help_and_version(capsys):
    assert main(["--version"]) == 0
    assert taian_titles.__version__ in capsys.readouterr().out
    assert main(["evaluate", "--help"]) == 0
    assert "--as-of" in capsys.readouterr().out


def test_no_progress_bar_when_stderr_is_not_a_terminal(capsys, tmp_path):
    batch = [minimal(i) for i in range(30)]
    status, _, err = run(capsys, "evaluate", write(tmp_path, "b.json", json.dumps(batch)))
    assert status == 0 and only_the_summary(err, 30) and "\r" not in err


@settings(max_examples=15)
@given(st.lists(st.sampled_from(["good", "bad-json", "bad-field", "blank", "not-object"]), min_size=1, max_size=8))
def test_json_lines_batches_lose_nothing(tmp_path_factory, kinds):
    lines, ids = [], []
    for i, kind in enumerate(kinds):
        if kind == "good":
            lines.append(json.dumps(minimal(i)))
            ids.append(f"R-{i:06d}")
        elif kind == "bad-json":
            lines.append('{"id": "J-%d", "as_of": ' % i)
            ids.append(f"J-{i}")
        elif kind == "bad-field":
            lines.append(json.dumps({"id": f"F-{i}", "titles": [{"level": "grand", "digital": True}]}))
            ids.append(f"F-{i}")
        elif kind == "not-object":
            lines.append('"a string"' if i % 2 else "42")  # a line that starts with [ would be an array
            ids.append(None)
        else:
            lines.append("   ")
    path = tmp_path_factory.mktemp("batch") / "b.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = path.with_suffix(".out")
    status = main(["evaluate", str(path), "-o", str(out)])
    if all(k in ("blank", "bad-json") for k in kinds):
        # No line is JSON: the input as a whole is unusable (blank only, or not JSON at all).
        assert status == 2 and not out.exists()
        return
    answers = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [a["id"] for a in answers] == ids
    bad = any(k in ("bad-json", "bad-field", "not-object") for k in kinds)
    assert status == (1 if bad else 0)
    assert all(("error" in a) == (a["id"] is None or not a["id"].startswith("R-")) for a in answers)


# --------------------------------------------------------------------------- evaluate: letters

@pytest.mark.parametrize("fmt, lang", [("text", "zh"), ("text", "en"), ("markdown", "zh"), ("html", "zh"),
                                       ("html", "en")])
def test_letters_for_a_batch(capsys, fmt, lang):
    status, out, _ = run(capsys, "evaluate", str(APPLICANTS), "--format", fmt, "--lang", lang)
    assert status == 0
    plain = re.sub(r"\\(.)", r"\1", out) if fmt == "markdown" else out
    if fmt == "html":
        import html as _html
        plain = _html.unescape(out)
        assert out.count("<!DOCTYPE html>") == 1 and out.count('<article class="letter">') == 8
        assert out.rstrip().endswith("</html>")
    for record in records(APPLICANTS):
        decision = taian_titles.evaluate(record)
        assert decision.id in plain
        for o in decision.outcomes:
            assert o.explanation[lang] in plain


def test_error_letters_in_a_batch(capsys):
    status, out, _ = run(capsys, "evaluate", str(WITH_ERRORS), "--format", "text")
    assert status == 1
    assert "无法评估的记录：E-0003（第 3 行）" in out
    assert "certificates[0].level：'expert' 不是可选值之一；可选值：junior（初级）、intermediate（中级）、senior（高级）" in out
    assert "is not one of" not in out
    assert "无法评估的记录：（无编号）（第 5 行）" in out
    first = json.loads(WITH_ERRORS.read_text("utf-8").splitlines()[0])
    assert taian_titles.evaluate(first).outcomes[0].explanation.zh in out


# --------------------------------------------------------------------------- quota

def test_quota_city_report_json_in_order(capsys):
    from taian_titles import check_quota

    lists = json.loads(CITY.read_text("utf-8"))
    status, out, _ = run(capsys, "quota", str(CITY))
    assert status == 0
    assert json.loads(out) == [check_quota(x).to_dict() for x in lists]


def test_quota_one_list_and_a_bad_one(capsys, tmp_path):
    from taian_titles import check_quota

    one = json.loads(CITY.read_text("utf-8"))[1]
    status, out, _ = run(capsys, "quota", write(tmp_path, "one.json", json.dumps(one, ensure_ascii=False, indent=1)))
    assert status == 0 and json.loads(out) == check_quota(one).to_dict()
    empty = {"unit": "泰山区", "as_of": "2025-09-01", "candidates": []}
    text = json.dumps(one, ensure_ascii=False) + "\n" + json.dumps(empty, ensure_ascii=False) + "\n"
    status, out, _ = run(capsys, "quota", write(tmp_path, "two.jsonl", text))
    answers = [json.loads(line) for line in out.splitlines()]
    assert status == 1
    assert answers[0] == check_quota(one).to_dict()
    assert answers[1]["unit"] == "泰山区" and answers[1]["error"]["path"] == "candidates"


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_quota_report_formats(capsys, fmt):
    from taian_titles import city_report

    report = city_report(json.loads(CITY.read_text("utf-8")))
    status, out, _ = run(capsys, "quota", str(CITY), "--format", fmt)
    assert status == 0
    assert quota_summary_line(report, "zh") in out
    for r in report.checked:
        assert r.unit in out


# --------------------------------------------------------------------------- ruleset show / check

def test_ruleset_show_lists_every_clause_parameter_outcome_and_rule(capsys):
    ruleset = taian_titles.default_ruleset()
    status, out, _ = run(capsys, "ruleset", "show")
    assert status == 0
    for cid, text in ruleset.clauses.items():
        assert f"[{cid}] {text['zh']}" in out
    for name in ruleset.parameters:
        assert f"{name} = " in out
    for code in ruleset.outcomes:
        assert f"{code}: " in out
    for rule in ruleset.rules:
        assert rule.id in out
        for cond in rule.when:
            assert cond.source in out
    assert ruleset.digest in out


def test_ruleset_show_json(capsys):
    ruleset = taian_titles.default_ruleset()
    status, out, _ = run(capsys, "ruleset", "show", str(default_ruleset_path()), "--format", "json")
    data = json.loads(out)
    assert status == 0
    assert [r["id"] for r in data["rules"]] == [r.id for r in ruleset.rules]
    assert data["parameters"]["quota_share"]["value"] == "20%"
    assert data["parameters"]["required_years"]["value"] == 3
    assert data["ruleset"]["digest"] == ruleset.digest


def edited(tmp_path: Path, old: str, new: str, name: str = "edited.toml") -> str:
    text = default_ruleset_path().read_text("utf-8")
    assert old in text
    return write(tmp_path, name, text.replace(old, new, 1))


def test_ruleset_check_of_the_shipped_file(capsys):
    status, out, err = run(capsys, "ruleset", "check", str(default_ruleset_path()))
    assert status == 0 and err == ""
    assert out.startswith("OK ") and "changed:" not in out and "warning:" not in out


def test_ruleset_check_reports_a_changed_parameter_and_the_command_uses_it(capsys, tmp_path):
    path = edited(tmp_path, "[parameters.required_years]\nvalue = 3", "[parameters.required_years]\nvalue = 2")
    status, out, _ = run(capsys, "ruleset", "check", path)
    assert status == 0
    assert "changed: parameter required_years: 3 → 2" in out
    assert "keeps its id and version" in out  # a changed file must say it is another version
    version = taian_titles.default_ruleset().version
    renamed = edited(Path(path).parent, f'version = "{version}"', f'version = "{version}+office.1"', "renamed.toml")
    renamed_text = Path(renamed).read_text("utf-8").replace("[parameters.required_years]\nvalue = 3",
                                                              "[parameters.required_years]\nvalue = 2")
    Path(renamed).write_text(renamed_text, encoding="utf-8")
    status, out, _ = run(capsys, "ruleset", "check", renamed)
    assert status == 0 and "required_years: 3 → 2" in out and "keeps its id and version" not in out
    # With two years, A-0001 (2 years 6 months of work) may apply for the intermediate title now.
    status, out, _ = run(capsys, "evaluate", str(EXAMPLES / "applicant-a0001.json"), "--ruleset", path)
    answer = json.loads(out)
    assert status == 0
    assert "apply_intermediate_title" in [o["code"] for o in answer["outcomes"]]
    assert answer["ruleset"]["digest"] != taian_titles.default_ruleset().digest


def test_ruleset_check_names_the_entry_at_fault(capsys, tmp_path):
    path = edited(tmp_path, "full_years < $required_years and eligible_on != none",
                  "full_years < $required_years and eligible_on != none and years >= $required_yaers")
    status, out, err = run(capsys, "ruleset", "check", path)
    assert status == 1 and out == ""
    assert "rule 'M9-2d-not-met-work-continues'" in err and "unknown parameter $required_yaers" in err
    assert "Traceback" not in err


def test_ruleset_check_refuses_a_derived_field_the_engine_uses(capsys, tmp_path):
    # The engine gives every fact an ``id`` and a type property: a derivation may not set them.
    text = default_ruleset_path().read_text("utf-8")
    old = 'then = { derive = "held_certificate", copy = "cert", basis = ["cert"] }'
    assert old in text
    path = write(tmp_path, "reserved.toml", text.replace(
        old, 'then = { derive = "held_certificate", copy = "cert", basis = ["cert"], set = { id = 1, t__x = 2 } }'))
    status, _, err = run(capsys, "ruleset", "check", path)
    assert status == 1
    assert "rule 'held-certificate': then.set: 'id' is reserved for the engine" in err
    assert "then.set: 't__x' is reserved for the engine" in err


def test_ruleset_check_reports_every_problem(capsys, tmp_path):
    text = default_ruleset_path().read_text("utf-8")
    text = text.replace('value = "20%"', 'value = "120%"', 1).replace('id = "M9-2c"\nclause = "M9-2c"', 'id = "M9-2c"\nclause = "M9-9"', 1)
    path = write(tmp_path, "two-faults.toml", text)
    status, _, err = run(capsys, "ruleset", "check", path)
    assert status == 1
    assert "[parameters.quota_share]" in err and "'120%'" in err
    assert "'M9-9' is not one of" in err
    assert "problems; the ruleset cannot be used" in err


# --------------------------------------------------------------------------- the real console script

needs_script = pytest.mark.skipif(not SCRIPT.exists(), reason=f"console script not installed at {SCRIPT}")


@needs_script
def test_console_script_exit_statuses(tmp_path):
    ok = subprocess.run([str(SCRIPT), "evaluate", str(APPLICANTS), "--format", "jsonl"], capture_output=True)
    assert ok.returncode == 0 and only_the_summary(ok.stderr.decode("utf-8"), len(records(APPLICANTS)))
    assert len(ok.stdout.decode("utf-8").splitlines()) == len(records(APPLICANTS))
    some = subprocess.run([str(SCRIPT), "evaluate", str(WITH_ERRORS)], capture_output=True)
    assert some.returncode == 1 and len(some.stdout.splitlines()) == len(WITH_ERRORS.read_text("utf-8").splitlines())
    bad = subprocess.run([str(SCRIPT), "evaluate", str(tmp_path / "missing.json")], capture_output=True)
    assert bad.returncode == 2 and bad.stdout == b""
    assert bad.stderr.decode("utf-8").strip() == f"taian-titles: no such file: {tmp_path / 'missing.json'}"


@needs_script
def test_console_script_writes_utf8_whatever_the_locale():
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": "ascii"}
    result = subprocess.run([str(SCRIPT), "evaluate", str(EXAMPLES / "applicant-a0001.json"), "--format", "text"],
                            capture_output=True, env=env)
    assert result.returncode == 0, result.stderr
    assert "可直接认定初级职称" in result.stdout.decode("utf-8")


def _readline(proc: subprocess.Popen, seconds: float = 60) -> bytes:
    """One answer line; fails (instead of hanging) if the command holds its answer back."""
    ready, _, _ = select.select([proc.stdout], [], [], seconds)
    assert ready, "no answer: the command waits for more input before answering a line"
    return proc.stdout.readline()


@needs_script
@pytest.mark.parametrize("jobs", [[], ["--jobs", "1"]], ids=["default jobs", "one job"])
def test_console_script_answers_each_line_before_reading_the_next(jobs):
    # --jobs 1 batches a file's records (standard input that is a file too), never a pipe's
    proc = subprocess.Popen([str(SCRIPT), "evaluate", "-", *jobs], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
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


# --------------------------------------------------------------------------- constant memory

_MEASURE = textwrap.dedent("""
    import resource, subprocess, sys
    with open(sys.argv[2], "wb") as out:
        status = subprocess.run([sys.argv[1], "evaluate", sys.argv[3], "--format", "jsonl"], stdout=out).returncode
    print(status, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
""")


def _stream(tmp_path: Path, count: int) -> tuple[int, int, Path]:
    """Run the command on ``count`` JSON Lines records; (exit status, peak RSS in KiB, output path).

    The peak is measured in a fresh parent process so that other children of the test run
    (a browser, say) do not count.
    """
    source = tmp_path / "many.jsonl"
    with source.open("w", encoding="utf-8") as f:
        for i in range(count):
            record = minimal(i) if i % 10 == 0 else {"id": f"R-{i:06d}", "as_of": "2025-06-01"}
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    target = tmp_path / "many.out"
    result = subprocess.run([sys.executable, "-c", _MEASURE, str(SCRIPT), str(target), str(source)],
                            capture_output=True, text=True, check=True)
    status, peak = map(int, result.stdout.split())
    return status, peak, target


def _check_stream(target: Path, count: int) -> None:
    with target.open(encoding="utf-8") as f:
        n = -1
        for n, line in enumerate(f):
            assert json.loads(line)["id"] == f"R-{n:06d}"
    assert n + 1 == count


@needs_script
def test_json_lines_stream_in_constant_memory(tmp_path):
    status, peak_kib, target = _stream(tmp_path, 20_000)
    assert status == 0
    _check_stream(target, 20_000)
    assert peak_kib < 150 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"


@pytest.mark.slow
@needs_script
def test_json_lines_stream_200000_records_in_constant_memory(tmp_path):
    status, peak_kib, target = _stream(tmp_path, 200_000)
    assert status == 0
    _check_stream(target, 200_000)
    assert peak_kib < 150 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"


class _Terminal:
    """A stand-in for a terminal's standard error."""

    def __init__(self) -> None:
        self.written: list[str] = []

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.written.append(text)
        return len(text)

    def flush(self) -> None:
        pass


def test_progress_bar_only_for_a_person_watching(monkeypatch, tmp_path):
    from taian_titles import io

    items = [(None, {}), (None, {})]
    out_file = open(tmp_path / "out", "w", encoding="utf-8")
    try:
        monkeypatch.setattr(sys, "stderr", _Terminal())
        bar = io.progress(items, 2, out_file, enabled=True)
        assert bar is not items and list(bar) == items  # a tqdm bar, passing every item through
        assert io.progress(items, 2, out_file, enabled=False) is items  # --no-progress
        monkeypatch.setattr(sys, "stdout", _Terminal())
        assert io.progress(items, 2, sys.stdout, enabled=True) is items  # answers on the same screen
        not_a_terminal = _Terminal()
        not_a_terminal.isatty = lambda: False
        monkeypatch.setattr(sys, "stderr", not_a_terminal)
        assert io.progress(items, 2, out_file, enabled=True) is items  # not a terminal: silent
    finally:
        out_file.close()


def test_a_fault_in_one_list_does_not_stop_the_quota_batch(tmp_path, monkeypatch, capsys):
    import json as _json
    import taian_titles.api as quota_module
    real = quota_module.check_quota

    def flaky(record, **kw):
        if record.get("unit") == "岱岳区":
            raise RuntimeError("simulated fault")
        return real(record, **kw)

    monkeypatch.setattr(quota_module, "check_quota", flaky)
    lists = [{"unit": u, "as_of": "2025-09-01",
              "candidates": [{"id": "C-1", "skill_level": "technician", "digital": True}]}
             for u in ("泰山区", "岱岳区", "新泰市")]
    source = tmp_path / "lists.json"
    source.write_text(_json.dumps(lists, ensure_ascii=False), encoding="utf-8")
    from taian_titles.cli import main
    assert main(["quota", str(source), "--format", "json"]) == 1
    out = _json.loads(capsys.readouterr().out)
    assert [entry["unit"] for entry in out] == ["泰山区", "岱岳区", "新泰市"]
    assert out[0]["meets_quota"] is True and out[2]["meets_quota"] is True
    assert "simulated fault" in out[1]["error"]["message"]


def test_only_a_regular_file_is_read_in_batches(tmp_path, monkeypatch):
    """What decides whether ``evaluate --jobs 1`` batches records: a file, named or as standard
    input, is; a FIFO, a device or a pipe as standard input is not (its writer may wait)."""
    from taian_titles.io import is_regular_file
    regular, fifo = tmp_path / "a.jsonl", tmp_path / "fifo"
    regular.write_text("{}\n", encoding="utf-8")
    os.mkfifo(fifo)
    assert is_regular_file(str(regular)) and not is_regular_file(str(fifo))
    assert not is_regular_file("/dev/null") and not is_regular_file(str(tmp_path / "missing"))
    read_end, write_end = os.pipe()
    try:
        for stdin, expected in ((regular.open("rb"), True), (os.fdopen(read_end, "rb"), False)):
            with stdin:
                monkeypatch.setattr(sys, "stdin", stdin)
                assert is_regular_file("-") is expected
    finally:
        os.close(write_end)
