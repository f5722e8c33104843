"""Problem codes and bilingual messages: every problem of bad input has a code of the documented
table, an English and a Chinese message and, for a closed set of values, the allowed codes; an
internal fault is an entry of its own kind; Chinese letters show the Chinese messages."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import example, given, strategies as st

import taian_titles as tt
from taian_titles import strategies as ts
from taian_titles.api import BatchError, evaluate_record
from taian_titles.cli import main
from taian_titles.errors import MESSAGES, InputError, InternalError, Problem, problem
from taian_titles.model import (
    Achievement,
    Candidate,
    Certificate,
    CertificateKind,
    Level,
    RecommendationList,
    SkillLevel,
    SkillLevelRecord,
    TitleLevel,
    Title,
    WorkKind,
    WorkPeriod,
)
from taian_titles import check_quota, city_report
from taian_titles.render import render_error

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CJK = re.compile(r"[\u4e00-\u9fff]")

#: The enumerated fields of the exchange format and their enumerations (written out here, not
#: taken from the strategies, so that a wrong ``allowed`` cannot agree with itself).
ENUMS: dict[tuple[str, str], type] = {
    ("certificates", "kind"): CertificateKind, ("certificates", "level"): Level,
    ("work_periods", "kind"): WorkKind,
    ("skill_levels", "level"): SkillLevel, ("titles", "level"): TitleLevel,
    ("candidates", "skill_level"): SkillLevel,
}
#: The record class of each list of the exchange format (for the allowed fields).
RECORDS = {"certificates": Certificate, "work_periods": WorkPeriod, "skill_levels": SkillLevelRecord,
           "titles": Title, "achievements": Achievement, "candidates": Candidate}
DATE_CODES = {"not_a_date", "impossible_date", "wrong_type"}

#: The codes each fault of the public strategy may be reported with.
APPLICANT_FAULT_CODES = {
    "missing_id": {"missing_field"},
    "empty_id": {"empty_string", "wrong_type"},
    "bad_as_of": DATE_CODES,
    "unknown_top_field": {"unknown_field"},
    "list_not_array": {"wrong_type"},
    "missing_field": {"missing_field"},
    "unknown_item_field": {"unknown_field"},
    "item_not_object": {"wrong_type"},
    "bad_date": DATE_CODES,
    "wrong_type_str": {"wrong_type"},
    "bad_enum": {"unknown_value", "wrong_type"},
    "wrong_type_bool": {"wrong_type"},
    "blank_identity": {"empty_string"},
    "senior_training": {"senior_training_certificate"},
    "duplicate_number": {"duplicate_number"},
    "end_before_start": {"end_before_start"},
}


def _problems_of(record: Any, reader: Any = tt.applicant_from_dict) -> tuple[InputError, list[Problem]]:
    with pytest.raises(InputError) as caught:
        reader(record)
    return caught.value, list(caught.value.problems)


def _expected_allowed(path: str, record: Any) -> list[str] | None:
    """The allowed codes a problem at ``path`` must list, or None when it lists none."""
    match = re.fullmatch(r"(\w+)\[(\d+)\]\.(\w+)", path)
    if match:
        key, index, name = match.group(1), int(match.group(2)), match.group(3)
        enum = ENUMS.get((key, name))
        if enum is not None and name in record[key][index]:  # present but not allowed
            if (key, name) == ("certificates", "level") and record[key][index].get("kind") == "training" \
                    and record[key][index][name] == "senior":
                return ["junior", "intermediate"]
            return [m.code for m in enum]
    return None


def _check_problem(p: Problem, record: Any, codes: set[str]) -> None:
    assert p.code in MESSAGES and p.code in codes, (p, codes)
    assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", p.code)
    assert p.message.strip() and p.message_zh.strip()
    assert CJK.search(p.message_zh), p.message_zh
    assert p.message_zh != p.message
    if p.code == "unknown_field":
        key = re.match(r"(\w+)\[", p.path)
        if key is not None:
            cls = RECORDS[key.group(1)]
            assert list(p.allowed) == [f.name for f in attrs.fields(cls)]
        else:  # a record accepts its fields and the exchange version it names
            cls = tt.RecommendationList if "candidates" in record else tt.Applicant
            assert list(p.allowed) == [f.name for f in attrs.fields(cls)] + ["exchange_version"]
        return
    expected = _expected_allowed(p.path, record)
    if expected is None:
        assert p.allowed == (), p
    else:
        assert list(p.allowed) == expected, p
        for code in expected:  # the allowed codes in both messages, with their Chinese names
            assert code in p.message and code in p.message_zh


# --------------------------------------------------------------------------- the table

def test_the_table_has_snake_case_codes_and_two_messages_each():
    assert len(MESSAGES) >= 10
    for code, (en, zh) in MESSAGES.items():
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", code), code
        assert en.strip() and zh.strip() and CJK.search(zh) and en != zh, code


def test_every_code_is_documented_in_the_exchange_format():
    text = (ROOT / "docs" / "exchange.md").read_text("utf-8")
    section = text[text.index("### Problem codes"):]
    documented = re.findall(r"^\| `([a-z_0-9]+)` \|", section, flags=re.M)
    assert sorted(documented) == sorted(MESSAGES)


def test_an_enumeration_lists_its_codes_and_the_chinese_message_its_chinese_names():
    p = problem("certificates[0].level", "unknown_value", value="'expert'",
                allowed=[(m.code, m.zh) for m in Level])
    assert p.code == "unknown_value" and p.allowed == ("junior", "intermediate", "senior")
    assert p.message == "'expert' is not one of junior, intermediate, senior"
    assert p.message_zh == "'expert' 不是可选值之一；可选值：junior（初级）、intermediate（中级）、senior（高级）"


def test_a_problem_built_the_old_way_still_works():
    p = Problem("id", "required field missing")
    assert (p.path, p.message, p.code, p.message_zh, p.allowed) == ("id", "required field missing", "", "", ())
    assert str(p) == "id: required field missing"
    error = InputError([p]).to_dict()
    assert error["path"] == "id" and error["message"] == "id: required field missing"
    assert error["problems"][0]["message_zh"] == "required field missing"  # no Chinese given: the English


# --------------------------------------------------------------------------- every fault of the strategies

@pytest.mark.parametrize("fault", ts.APPLICANT_FAULTS)
@given(data=st.data())
def test_every_invalid_applicant_problem_has_its_code_both_messages_and_the_allowed_values(fault, data):
    record, path = data.draw(ts.invalid_applicant_dicts(faults=(fault,)))
    error, problems = _problems_of(record)
    assert [p.path for p in problems] == [path]
    _check_problem(problems[0], record, APPLICANT_FAULT_CODES[fault])
    if fault == "bad_enum":  # an enumeration fault always lists the allowed codes
        assert problems[0].allowed
    entry = error.to_dict()
    assert entry["kind"] == "input" and entry["code"] == problems[0].code and entry["path"] == path
    assert CJK.search(entry["message_zh"]) and problems[0].message_zh in entry["message_zh"]
    item = entry["problems"][0]
    assert item["code"] == problems[0].code
    assert item["message"] == problems[0].message and item["message_zh"] == problems[0].message_zh
    assert item.get("allowed", []) == list(problems[0].allowed)
    assert ("allowed" in item) == bool(problems[0].allowed)


def test_every_fault_of_the_strategy_has_its_expected_codes():
    assert set(APPLICANT_FAULT_CODES) == set(ts.APPLICANT_FAULTS)


LIST_CODES = {"unit": {"missing_field", "empty_string", "wrong_type"},
              "candidates": {"empty_list", "wrong_type"},
              "as_of": DATE_CODES}


@given(ts.invalid_recommendation_list_dicts())
def test_every_invalid_recommendation_list_problem_has_its_code_and_both_messages(case):
    record, path = case
    error, problems = _problems_of(record, tt.recommendation_list_from_dict)
    assert [p.path for p in problems] == [path]
    p = problems[0]
    if path in LIST_CODES:
        codes = LIST_CODES[path]
    elif re.fullmatch(r"candidates\[\d+\]", path):
        codes = {"wrong_type", "unknown_field"}
    else:
        codes = {"missing_field", "unknown_value", "wrong_type"}
    _check_problem(p, record, codes)
    if path.endswith(".skill_level") and p.code != "missing_field":
        assert list(p.allowed) == [m.code for m in SkillLevel]


def _plain(text, fmt):
    """A letter's text as read: HTML entities decoded, Markdown's escapes undone; plain text as is
    (undoing escapes there too took the backslash out of a value shown as '\\x1f')."""
    if fmt == "html":
        return html.unescape(text)
    return re.sub(r"\\(.)", r"\1", text) if fmt == "markdown" else text


#: Found when the generated examples moved: a control character as an enumeration value.
_CONTROL_KIND = ({"id": "A-1", "certificates": [{"number": "N-1", "programme": "digital_technology_engineer",
                                                 "kind": "\x1f", "level": "junior", "direction": "人工智能",
                                                 "issued_on": "2024-01-01"}]}, "certificates[0].kind")


@example(_CONTROL_KIND)
@given(ts.invalid_applicant_dicts(faults=("bad_enum", "senior_training", "missing_field", "bad_date")))
def test_a_chinese_error_letter_shows_no_english_message(case):
    record, _ = case
    error, problems = _problems_of(record)
    for fmt in ("text", "markdown", "html"):
        zh = render_error(record.get("id"), error, fmt, "zh")
        en = render_error(record.get("id"), error, fmt, "en")
        zh_plain = _plain(zh, fmt)
        en_plain = _plain(en, fmt)
        for p in problems:
            assert p.message_zh in zh_plain and p.message not in zh_plain
            assert p.message in en_plain and p.message_zh not in en_plain
        # the letter takes the same from the JSON entry as from the error itself
        assert render_error(record.get("id"), error.to_dict(), fmt, "zh") == zh


def test_a_programme_direction_the_policy_does_not_list_has_the_policys_directions_as_allowed():
    record = {"id": "A-1", "as_of": "2025-06-01", "certificates": [
        {"number": "N-1", "programme": "digital_technology_engineer", "kind": "professional_level",
         "level": "junior", "direction": "量子计算", "issued_on": "2024-01-01"}]}
    error, problems = _problems_of(record, tt.evaluate)
    (p,) = problems
    directions = list(tt.default_policy().directions)
    assert len(directions) >= 14 and "人工智能" in directions
    assert (p.path, p.code, list(p.allowed)) == ("certificates[0].direction", "unknown_value", directions)
    assert p.message == "'量子计算' is not one of " + ", ".join(directions)
    assert p.message_zh == "'量子计算' 不是可选值之一；可选值：" + "、".join(directions)  # code = Chinese name: once
    assert error.record_id == "A-1"


# --------------------------------------------------------------------------- bad input outside a record

def test_an_empty_list_and_a_city_report_that_is_not_an_array():
    _, problems = _problems_of({"unit": "泰山区", "candidates": []}, tt.recommendation_list_from_dict)
    assert [(p.path, p.code) for p in problems] == [("candidates", "empty_list")]
    with pytest.raises(InputError) as caught:
        check_quota(RecommendationList(unit="泰山区", candidates=()))
    assert caught.value.problems == tuple(problems)
    with pytest.raises(InputError) as caught:
        city_report({"unit": "泰山区", "candidates": []})
    (p,) = caught.value.problems
    assert (p.path, p.code) == ("$", "wrong_type") and "数组" in p.message_zh and "对象" in p.message_zh


@pytest.mark.parametrize("value, code", [("2025-02-30", "impossible_date"), ("2025/06/01", "not_a_date"),
                                         (20250601, "wrong_type")])
def test_a_bad_as_of_argument(value, code):
    with pytest.raises(InputError) as caught:
        tt.evaluate({"id": "A"}, as_of=value)
    (p,) = caught.value.problems
    assert (p.path, p.code) == ("as_of", code)
    assert ("YYYY-MM-DD" in p.message_zh) == (code != "impossible_date")


# --------------------------------------------------------------------------- internal faults

def _fail_on(monkeypatch: pytest.MonkeyPatch, applicant_id: str) -> None:
    """Evaluating the record ``applicant_id`` fails as a fault of the library would."""
    import taian_titles.api as api
    real = api.evaluate

    def flaky(record: Any, **kw: Any) -> Any:
        if isinstance(record, dict) and record.get("id") == applicant_id:
            raise RuntimeError("simulated fault")
        return real(record, **kw)

    monkeypatch.setattr(api, "evaluate", flaky)


def test_an_internal_fault_is_an_entry_of_its_own_kind(monkeypatch):
    _fail_on(monkeypatch, "A-1")
    answer = evaluate_record(0, {"id": "A-1"}, as_of=dt.date(2025, 6, 1), ruleset=tt.default_ruleset())
    assert isinstance(answer, BatchError) and isinstance(answer.error, InternalError)
    assert not isinstance(answer.error, InputError)
    entry = answer.to_dict()
    assert entry["id"] == "A-1"
    assert set(entry["error"]) == {"kind", "code", "message", "message_zh"}  # no path: not the input's fault
    assert entry["error"]["kind"] == "internal" and entry["error"]["code"] == "internal_error"
    assert "RuntimeError: simulated fault" in entry["error"]["message"]
    assert CJK.search(entry["error"]["message_zh"]) and "simulated fault" in entry["error"]["message_zh"]
    letter = render_error(answer.id, answer.error, "text", "zh")
    assert "请更正" not in letter and "内部错误" in letter and entry["error"]["message"] not in letter


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = main(list(argv))
    return status, capsys.readouterr().out


def test_the_command_json_carries_codes_and_both_messages(capsys):
    status, out = _run(capsys, "evaluate", str(EXAMPLES / "applicants-with-errors.jsonl"), "--no-progress")
    assert status == 1
    errors = {a["id"]: a["error"] for a in map(json.loads, out.splitlines()) if "error" in a}
    assert errors, "the example has bad records"
    for error in errors.values():
        assert error["kind"] == "input" and error["code"] in MESSAGES
        assert error["message"] and CJK.search(error["message_zh"])
        assert error["code"] == error["problems"][0]["code"] and error["path"] == error["problems"][0]["path"]
        for p in error["problems"]:
            assert p["code"] in MESSAGES and p["message"] and CJK.search(p["message_zh"])
    e3 = {p["path"]: p for p in errors["E-0003"]["problems"]}
    assert e3["certificates[0].level"]["code"] == "unknown_value"
    assert e3["certificates[0].level"]["allowed"] == ["junior", "intermediate", "senior"]
    assert e3["certificates[0].issued_on"]["code"] == "impossible_date"
    assert "allowed" not in e3["certificates[0].issued_on"]
    assert errors["E-0004"]["code"] == "not_json" and errors["E-0004"]["line"] == 4
    assert errors[None]["problems"] == [{"path": "id", "code": "missing_field",
                                         "message": "required field missing", "message_zh": "缺少必填字段"}]


def test_a_line_that_is_not_utf8_has_its_code(capsys, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_bytes(b'{"id": "A-1"}\n{"id": "\xff"}\n')
    status, out = _run(capsys, "evaluate", str(source), "--as-of", "2025-06-01", "--no-progress")
    assert status == 1
    error = json.loads(out.splitlines()[1])["error"]
    assert error["code"] == "not_utf8" and error["path"] == "$"
    assert error["problems"][0]["message_zh"] == "第 2 行不是 UTF-8 编码的文本（第 9 个字节有误）"


def test_the_command_json_of_an_internal_fault(capsys, tmp_path, monkeypatch):
    _fail_on(monkeypatch, "A-2")
    source = tmp_path / "in.json"
    source.write_text(json.dumps([{"id": "A-1"}, {"id": "A-2"}, {"id": "A-3"}]), encoding="utf-8")
    status, out = _run(capsys, "evaluate", str(source), "--as-of", "2025-06-01", "--no-progress")
    assert status == 1
    answers = json.loads(out)
    assert [a["id"] for a in answers] == ["A-1", "A-2", "A-3"]
    assert "outcomes" in answers[0] and "outcomes" in answers[2]
    assert answers[1]["error"]["kind"] == "internal" and answers[1]["error"]["code"] == "internal_error"
    assert "path" not in answers[1]["error"] and "problems" not in answers[1]["error"]
    status, out = _run(capsys, "evaluate", str(source), "--as-of", "2025-06-01", "--format", "html")
    assert status == 1 and "内部错误" in html.unescape(out)


def test_the_quota_command_reports_an_internal_fault_as_internal(capsys, tmp_path, monkeypatch):
    import taian_titles.api as api
    real = api.check_quota

    def flaky(record: Any, **kw: Any) -> Any:
        if record.get("unit") == "岱岳区":
            raise RuntimeError("simulated fault")
        return real(record, **kw)

    monkeypatch.setattr(api, "check_quota", flaky)
    lists = [{"unit": u, "as_of": "2025-09-01", "candidates": [{"id": "C-1", "skill_level": "technician",
                                                               "digital": True}]} for u in ("泰山区", "岱岳区")]
    lists.append({"unit": "新泰市", "candidates": []})
    source = tmp_path / "lists.json"
    source.write_text(json.dumps(lists, ensure_ascii=False), encoding="utf-8")
    status, out = _run(capsys, "quota", str(source))
    assert status == 1
    entries = json.loads(out)
    assert entries[1]["error"]["kind"] == "internal" and "检查本名单" in entries[1]["error"]["message_zh"]
    assert entries[2]["error"]["kind"] == "input" and entries[2]["error"]["code"] == "empty_list"
    status, out = _run(capsys, "quota", str(source), "--format", "text")
    assert "程序出错" in out and "推荐名单中至少应有一名候选人" in out
