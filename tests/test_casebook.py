"""Casebooks: worked cases beside a ruleset, run against a policy (``taian-titles ruleset test``).

The runner is tested on small casebooks written here (a case that passes, one that fails and
says where, one skipped because its document is not loaded, malformed ones); the command on its
exit statuses; and the shipped casebook on what it is for: an office that edits its ruleset
sees which cases the edit changes (3 years made 2 fails the M9-2d cases that turn on them).
"""

from __future__ import annotations

import datetime
import json
import re
import textwrap
from pathlib import Path

import pytest

import taian_titles
from taian_titles.casebook import (CasebookError, load_casebook, parse_casebook, report_text, run_casebook,
                                   run_casebooks, shipped_casebooks)
from taian_titles.cli import main
from taian_titles.ruleset import default_ruleset, default_ruleset_path

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "rulesets" / "tairenshefa-2025-5.cases.toml"
CROSSOVER_CASES = ROOT / "rulesets" / "lurenshefa-2020-16.cases.toml"
CROSSOVER_RULESET = ROOT / "rulesets" / "lurenshefa-2020-16.toml"
MEASURE9 = "tairenshefa-2025-5.measure9"
CROSSOVER = "lurenshefa-2020-16.crossover"

HEAD = f"""
[casebook]
ruleset = "{MEASURE9}"
title = "测试案例集"
"""

JUNIOR = """
[[cases]]
name = "初级证书 / a junior certificate"
clause = "M9-2a"
decision = 4
as_of = 2025-06-01
[cases.applicant]
id = "T-1"
certificates = [{ number = "N-1", programme = "digital_technology_engineer", kind = "professional_level", level = "junior", direction = "人工智能", issued_on = 2024-01-01 }]
[cases.expect]
outcomes = ["recognize_junior_title", "technical_may_apply_skill_level"]
not_met = {}
notes = []
highest_recognized_title = "junior"
text = ["N-1", "助理工程师"]
"""

# Wrong on purpose: the certificate is junior, the case says intermediate.
WRONG = """
[[cases]]
name = "写错的案例 / a wrong case"
clause = "M9-2a"
decision = 4
as_of = 2025-06-01
[cases.applicant]
id = "T-2"
certificates = [{ number = "N-2", programme = "digital_technology_engineer", kind = "professional_level", level = "junior", direction = "人工智能", issued_on = 2024-01-01 }]
[cases.expect]
outcomes = ["recognize_intermediate_title", "technical_may_apply_skill_level"]
highest_recognized_title = "intermediate"
"""

NOT_YET = """
[[cases]]
name = "未满3年 / not yet 3 years"
clause = "M9-2d"
decision = 6
as_of = "2025-06-01"
[cases.applicant]
id = "T-3"
certificates = [{ number = "N-3", programme = "digital_technology_engineer", kind = "training", level = "intermediate", direction = "人工智能", issued_on = "2024-11-20" }]
work_periods = [{ start = 2022-11-20, kind = "professional_technical", direction = "人工智能" }]
[cases.expect]
not_met = { apply_intermediate_title = 2025-11-20 }
text = ["2025-11-20"]
"""

A_LIST = """
[[cases]]
name = "5人名单 / a list of 5"
clause = "M9-4"
as_of = 2025-09-01
[cases.list]
unit = "泰山区"
candidates = [
  { id = "C1", skill_level = "technician", digital = true },
  { id = "C2", skill_level = "technician", digital = false },
  { id = "C3", skill_level = "technician", digital = false },
  { id = "C4", skill_level = "technician", digital = false },
  { id = "C5", skill_level = "technician", digital = false },
]
[cases.expect]
meets_quota = true
total = 5
digital = 1
add_digital_needed = 0
swap_needed = 0
findings = []
"""


def casebook(tmp_path: Path, body: str, name: str = "t.cases.toml", head: str = HEAD) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(head) + body, encoding="utf-8")
    return str(path)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def edited_ruleset(tmp_path: Path, years: int) -> str:
    """The shipped ruleset with ``[parameters.required_years] value`` changed, as an office would."""
    text = default_ruleset_path().read_text("utf-8")
    edited, count = re.subn(r"(\[parameters\.required_years\]\s*\nvalue\s*=\s*)\d+", rf"\g<1>{years}", text)
    assert count == 1
    path = tmp_path / f"required-years-{years}.toml"
    path.write_text(edited, encoding="utf-8")
    return str(path)


# --------------------------------------------------------------------------- the runner

def test_a_case_that_holds_passes(tmp_path):
    book = load_casebook(casebook(tmp_path, JUNIOR + NOT_YET + A_LIST))
    assert book.ruleset == MEASURE9 and book.title == "测试案例集"
    results = run_casebook(book)
    assert [r.status for r in results] == ["passed", "passed", "passed"]
    assert [r.case.position for r in results] == [1, 2, 3]
    assert results[0].case.cites == "M9-2a; decision 4"


def test_a_failing_case_names_each_key_with_both_values(tmp_path):
    (result,) = run_casebook(load_casebook(casebook(tmp_path, WRONG)))
    assert result.failed
    by_key = {d.key: d for d in result.differences}
    assert set(by_key) == {"outcomes", "highest_recognized_title"}
    assert by_key["highest_recognized_title"].text() == "highest_recognized_title: expected intermediate; got junior"
    assert by_key["outcomes"].text() == (
        "outcomes: expected [recognize_intermediate_title, technical_may_apply_skill_level]; "
        "got [recognize_junior_title, technical_may_apply_skill_level] "
        "(missing recognize_intermediate_title; unexpected recognize_junior_title)")


@pytest.mark.parametrize("expect, key, expected, got", [
    ('not_met = {}', "not_met", "{}", "{apply_intermediate_title = 2025-11-20}"),
    ('not_met = { apply_intermediate_title = "none" }', "not_met", "{apply_intermediate_title = none}",
     "{apply_intermediate_title = 2025-11-20}"),
    ('notes = ["certificate_revoked"]', "notes", "[certificate_revoked]", "[]"),
    ('highest_recognized_title = "junior"', "highest_recognized_title", "junior", "null"),
])
def test_each_kind_of_expectation_is_compared_exactly(tmp_path, expect, key, expected, got):
    body = NOT_YET.replace('not_met = { apply_intermediate_title = 2025-11-20 }', expect)
    (result,) = run_casebook(load_casebook(casebook(tmp_path, body)))
    (difference,) = result.differences
    assert difference.text().startswith(f"{key}: expected {expected}; got {got}")


def test_text_is_looked_for_in_every_explanation_of_a_list_too(tmp_path):
    body = A_LIST.replace("findings = []", 'findings = []\ntext = ["20.00%", "无此文字"]')
    (result,) = run_casebook(load_casebook(casebook(tmp_path, body)))
    (difference,) = result.differences
    assert difference.key == "text" and difference.expected == ["无此文字"]
    assert difference.text() == "text: expected [无此文字]; not found in any of the one explanation"


def test_a_list_case_that_differs_shows_the_counts(tmp_path):
    body = A_LIST.replace("meets_quota = true", "meets_quota = false").replace("swap_needed = 0", 'swap_needed = "null"')
    (result,) = run_casebook(load_casebook(casebook(tmp_path, body)))
    assert [d.text() for d in result.differences] == ["meets_quota: expected false; got true",
                                                      "swap_needed: expected null; got 0"]


def test_a_record_the_policy_refuses_fails_that_case_only(tmp_path):
    refused = JUNIOR.replace('name = "初级证书 / a junior certificate"', 'name = "坏记录"').replace(
        'level = "junior"', 'level = "expert"')
    results = run_casebook(load_casebook(casebook(tmp_path, refused + JUNIOR)))
    assert [r.status for r in results] == ["failed", "passed"]
    (difference,) = results[0].differences
    assert difference.key == "record" and "certificates[0].level" in difference.got


def test_cases_for_a_document_not_loaded_are_skipped_and_counted(tmp_path):
    other = casebook(tmp_path, JUNIOR, "other.cases.toml", head='[casebook]\nruleset = "some.other.document"\n')
    report = run_casebooks([other, casebook(tmp_path, JUNIOR)])
    assert [r.status for r in report.results] == ["skipped", "passed"]
    assert "some.other.document" in report.results[0].reason
    assert report.summary.to_dict() == {"cases": 2, "passed": 1, "failed": 0, "skipped": 1}
    assert report.exit_status == 0
    text = report_text(report)
    assert text.splitlines()[0].startswith(f"SKIP {other}")
    assert text.splitlines()[-1] == "2 cases: 1 passed, 0 failed, 1 skipped"


@pytest.mark.parametrize("body, message", [
    ("[[cases]\nname = 'x'", "not a valid TOML file"),
    (JUNIOR.replace("as_of = 2025-06-01\n", ""), 'case 1 (初级证书 / a junior certificate): as_of: missing'),
    (JUNIOR.replace("as_of = 2025-06-01", "as_of = 2025-06-31"), "not a valid TOML file"),
    (JUNIOR.replace("as_of = 2025-06-01", 'as_of = "June"'), "case 1 (初级证书 / a junior certificate): as_of:"),
    (JUNIOR.replace("outcomes =", "outcome ="), "expect of an applicant: unknown key 'outcome'; allowed: outcomes, not_met"),
    (JUNIOR.replace("[cases.expect]", "[cases.list]\nunit = 'x'\n[cases.expect]"),
     "give exactly one of [cases.applicant] and [cases.list]"),
    (JUNIOR.replace('name = "初级证书 / a junior certificate"\n', ""), "case 1: name: missing"),
    (JUNIOR + JUNIOR, "case 2 (初级证书 / a junior certificate): the name is already used by case 1"),
    (JUNIOR.replace('highest_recognized_title = "junior"', "highest_recognized_title = 2"),
     "expect.highest_recognized_title"),
    (JUNIOR.replace("not_met = {}", "not_met = []"), "expect.not_met: expected a table"),
    (JUNIOR.replace("not_met = {}", "not_met = { apply_intermediate_title = 'soon' }"),
     "expect.not_met.apply_intermediate_title: 'soon' is not a date"),
    (JUNIOR.replace("issued_on = 2024-01-01", "issued_on = 2024-01-01T08:00:00"),
     "applicant.certificates[0].issued_on: write a date without a time"),
    (JUNIOR.replace('id = "T-1"', 'id = "T-1"\nas_of = 2025-06-01'), "give the evaluation date as the case's as_of"),
    (JUNIOR.replace("decision = 4", "decision = 'four'"), "decision: expected a number or a list of numbers"),
    (JUNIOR.split("[cases.expect]")[0] + "[cases.expect]\n", "expect: missing or empty"),
    ("", "no cases"),
])
def test_a_malformed_casebook_is_one_line_naming_the_file_and_case(capsys, tmp_path, body, message):
    path = casebook(tmp_path, body)
    with pytest.raises(CasebookError) as caught:
        load_casebook(path)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)
    status, out, err = run(capsys, "ruleset", "test", path)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and path in err and message in err and "Traceback" not in err


def test_a_casebook_without_its_head_is_refused():
    with pytest.raises(CasebookError, match=r"\[casebook\]: missing table"):
        parse_casebook(JUNIOR, "x.cases.toml")
    with pytest.raises(CasebookError, match="unknown key 'casebooks'"):
        parse_casebook("[casebooks]\nruleset = 'x'\n" + JUNIOR, "x.cases.toml")


# --------------------------------------------------------------------------- the command

def test_exit_0_when_every_case_passes(capsys, tmp_path):
    status, out, err = run(capsys, "ruleset", "test", casebook(tmp_path, JUNIOR + A_LIST))
    assert status == 0 and err == ""
    assert out.splitlines()[-1] == "2 cases: 2 passed, 0 failed, 0 skipped"
    assert "FAIL" not in out


def test_exit_1_when_a_case_fails_with_the_case_and_the_difference(capsys, tmp_path):
    status, out, _ = run(capsys, "ruleset", "test", casebook(tmp_path, JUNIOR + WRONG))
    assert status == 1
    fail = out.index("FAIL 2. 写错的案例 / a wrong case [M9-2a; decision 4] (as of 2025-06-01)")
    assert "highest_recognized_title: expected intermediate; got junior" in out[fail:]
    assert out.splitlines()[-1] == "2 cases: 1 passed, 1 failed, 0 skipped"


def test_skipped_cases_do_not_change_the_exit_status(capsys, tmp_path):
    other = casebook(tmp_path, WRONG, "other.cases.toml", head='[casebook]\nruleset = "not.loaded"\n')
    status, out, _ = run(capsys, "ruleset", "test", other, casebook(tmp_path, JUNIOR))
    assert status == 0 and out.splitlines()[-1] == "2 cases: 1 passed, 0 failed, 1 skipped"
    status, out, _ = run(capsys, "ruleset", "test", other, casebook(tmp_path, WRONG, "wrong.cases.toml"))
    assert status == 1 and out.splitlines()[-1] == "2 cases: 0 passed, 1 failed, 1 skipped"


def test_verbose_lists_passing_cases_and_json_is_for_machines(capsys, tmp_path):
    path = casebook(tmp_path, JUNIOR + WRONG)
    _, out, _ = run(capsys, "ruleset", "test", "-v", path)
    assert "ok   1. 初级证书 / a junior certificate [M9-2a; decision 4]" in out
    status, out, _ = run(capsys, "ruleset", "test", "--format", "json", path)
    data = json.loads(out)
    assert status == 1
    assert data["summary"] == {"cases": 2, "passed": 1, "failed": 1, "skipped": 0}
    assert data["policy"] == taian_titles.default_policy().refs()
    assert data["casebooks"] == [{"file": path, "ruleset": MEASURE9, "title": "测试案例集", "cases": 2}]
    wrong = data["cases"][1]
    assert wrong["status"] == "failed" and wrong["clause"] == ["M9-2a"] and wrong["decision"] == [4]
    assert {"key": "highest_recognized_title", "expected": "intermediate", "got": "junior"} in wrong["differences"]


def test_unusable_files_and_rulesets_exit_2(capsys, tmp_path):
    status, _, err = run(capsys, "ruleset", "test", str(tmp_path / "missing.cases.toml"))
    assert status == 2 and "no such file" in err
    status, _, err = run(capsys, "ruleset", "test", "--ruleset", str(tmp_path / "missing.toml"))
    assert status == 2 and "no such file" in err


# --------------------------------------------------------------------------- the shipped casebook

def test_the_shipped_casebooks_are_found_beside_the_shipped_rulesets():
    assert shipped_casebooks() == (CROSSOVER_CASES, SHIPPED)
    assert load_casebook(SHIPPED).ruleset == default_ruleset().id
    assert load_casebook(CROSSOVER_CASES).ruleset == CROSSOVER
    assert [load_casebook(p).ruleset for p in shipped_casebooks()] == \
        sorted(d.id for d in taian_titles.default_policy().documents)


def test_the_shipped_casebook_covers_every_clause_and_decision():
    book = load_casebook(SHIPPED)
    clauses = {c for case in book.cases for c in case.clauses}
    decisions = {d for case in book.cases for d in case.decisions}
    assert clauses == set(default_ruleset().clauses)
    assert decisions == set(range(1, 15))
    assert {case.kind for case in book.cases} == {"applicant", "list"}
    sizes = {len(case.record["candidates"]) for case in book.cases if case.kind == "list"}
    assert {1, 5, 15} <= sizes


def test_every_shipped_case_passes_against_the_shipped_policy(capsys):
    status, out, _ = run(capsys, "ruleset", "test")
    assert status == 0, out
    assert re.fullmatch(r"(\d+) cases: \1 passed, 0 failed, 0 skipped", out.splitlines()[-1])


#: The shipped cases whose expectations need ruleset 1.1 (decisions 6, 7, 10-14 as revised).
NEEDS_1_1 = {
    "M9-1：副高级职称持有人仍可破格申报，高级等级证书仍作业绩条件",
    "M9-1、M9-2b：正高级职称持有人不再破格申报，高级等级证书不作业绩条件",
    "决定6：说明写明满足日期和尚差天数（172天）",
    "决定10：重复列入的数字人选只计一次，名单不达标",
    "决定10：重复编号内容不一致时按第一次计入",
    "决定10：唯一的数字人选为中级工，不计入，名单不达标",
    "决定10：没有人选计入的名单无法判断是否达标",
    "决定13：早于印发日期的评估只有一条说明，写明印发日期",
    "决定6：评估当天尚未工作，当天开始的工作未计入",
    "决定6：在评估日当天结束的合同计到前一天，已满3年",
    "决定6：3年劳动合同 2022-06-01至2025-05-31 满3年",
    "决定6：2023-01-01至2025-12-31 满3年",
    "决定6：合同最后一天评估，次日满3年",
    "决定6：2022-03-01至2025-02-28的工作满3年（于2025-03-01满）",
    "决定11：已有中级职称，初级证书不再认定初级",
    "决定11：员级职称持有人仍可认定初级",
    "决定11：已有初级职称，中级证书照常认定，最高为中级",
    "决定11：已有中级职称，不再申报初级或中级评审",
    "决定11：已有高级职称，不提示工作3年申报中级",
    "决定12：其他方向的工作和技能工作各有说明",
    "决定12：十年软件开发工作，说明缺少哪些条件",
    "决定12：非数字领域的技能等级有说明",
    "决定12：空白记录也有说明，不只写「不适用」",
    "决定14：记录可带申请人姓名",
}


def test_the_shipped_cases_that_need_only_ruleset_1_0_pass():
    # Until ruleset 1.1 lands, the cases above fail; every other case must pass already.  Once
    # the test above passes without its mark, this one says nothing more and can go.
    failed = {r.case.name.split(" / ")[0] for r in run_casebooks([SHIPPED]).failures}
    assert failed <= NEEDS_1_1, sorted(failed - NEEDS_1_1)
    names = {case.name.split(" / ")[0] for case in load_casebook(SHIPPED).cases}
    assert NEEDS_1_1 <= names


#: Cases whose result turns on the 3 years: with 2, each becomes met, or met sooner.
TURN_ON_THREE_YEARS = {
    "M9-2d：未满3年，继续工作将于 2025-11-20 满足",
    "决定6：说明写明满足日期和尚差天数（172天）",
    "决定6：评估当天尚未工作，当天开始的工作未计入",
    "决定6：合同最后一天评估，次日满3年",
    "M9-2d：工作已结束且不满3年，没有预计满足日期",
    "决定2：评估日期之后才开始的工作不计入，按记录2028-07-01满3年",
    "决定6：自2023-03-01起工作，2026-02-28尚未满3年",
    "决定6：自2024-02-29起工作，2027-02-27尚未满3年",
    "决定6：有间断的经历首尾相接计算，2025-09-01满3年",
    "决定6：2023-01-01至2025-12-30 差1天，不满3年",
    "决定6：重叠和相连的工作经历合并，不重复计算",
}


def test_an_office_that_makes_3_years_2_sees_the_cases_its_edit_changes(capsys, tmp_path):
    policy = taian_titles.load_policy(edited_ruleset(tmp_path, 2))
    results = {r.case.name.split(" / ")[0]: r for r in run_casebooks([SHIPPED], policy).results}
    assert TURN_ON_THREE_YEARS <= set(results)
    # The edit changes these cases and no other: every case that fails with it and passes
    # without it is one of them.
    before = {r.case.name.split(" / ")[0] for r in run_casebooks([SHIPPED]).failures}
    assert {name for name, r in results.items() if r.failed} - before <= TURN_ON_THREE_YEARS
    for name in TURN_ON_THREE_YEARS:
        # Failed for the 3 years, not for something else: the outcome or its date changed.
        assert results[name].failed, name
        assert {d.key for d in results[name].differences} & {"outcomes", "not_met"}, (name, results[name])
    status, out, _ = run(capsys, "ruleset", "test", "--ruleset", edited_ruleset(tmp_path, 2))
    assert status == 1
    for name in TURN_ON_THREE_YEARS:
        assert f". {name} / " in out
    # The same file with the 3 years kept is the shipped policy's result, case for case.
    same = taian_titles.load_policy(edited_ruleset(tmp_path, 3))
    assert [r.status for r in run_casebooks([SHIPPED], same).results] == \
        [r.status for r in run_casebooks([SHIPPED]).results]


# --------------------------------------------------------------------------- the crossover's casebook

def crossover_document():
    return taian_titles.default_policy().document(CROSSOVER)


def test_the_crossover_casebook_covers_every_route_clause_decision_and_level():
    book = load_casebook(CROSSOVER_CASES)
    assert 40 <= len(book.cases) <= 60
    clauses = {c for case in book.cases for c in case.clauses}
    # every clause a rule rests on (LR16-4, the technical schools' graduates, has no rule: the
    # record does not carry education)
    assert clauses == {r.clause for r in crossover_document().rules}
    assert {d for case in book.cases for d in case.decisions} == {1, 2, 3, 4, 5}
    levels = {s["level"] for case in book.cases for s in case.record.get("skill_levels", [])}
    assert levels == {level.code for level in taian_titles.SkillLevel}
    # each route the day before its anniversary (met the next day) and met on it
    routes = {"crossover_apply_assistant_engineer", "crossover_apply_engineer", "crossover_apply_senior_engineer"}
    day = datetime.timedelta(days=1)
    eve = {code for case in book.cases for code, when in case.expect.get("not_met", {}).items()
           if when == case.as_of + day}
    met = {code for case in book.cases for code in case.expect.get("outcomes", ())}
    assert eve == routes and met == routes
    for key in ("appraisals_passed", "continuing_education_done"):
        assert {case.record.get(key) for case in book.cases} == {True, False, None}, key


def test_every_crossover_case_passes_with_measure_nine_and_alone():
    composed = run_casebooks([CROSSOVER_CASES])
    assert composed.summary.failed == 0, report_text(composed)
    alone = run_casebooks([CROSSOVER_CASES, SHIPPED], taian_titles.load_policy(CROSSOVER_RULESET))
    assert alone.summary.to_dict() == {"cases": len(composed.results) + len(load_casebook(SHIPPED).cases),
                                       "passed": len(composed.results), "failed": 0,
                                       "skipped": len(load_casebook(SHIPPED).cases)}


def test_measure_nine_alone_skips_the_crossover_casebook(capsys):
    status, out, _ = run(capsys, "ruleset", "test", "--ruleset", str(default_ruleset_path()))
    assert status == 0
    assert f"SKIP {CROSSOVER_CASES}" in out and CROSSOVER in out


#: Crossover cases whose result turns on the engineer route's 3 years: with 2, each changes.
TURN_ON_ENGINEER_YEARS = {
    "LR16-3b：技师满3年的前一天，2025-03-01满足",
    "决定1：高级工途径已满足，技师途径2027-01-01满足",
    "决定2：多年的技能工作从取得技师之日起算，2026-06-01满3年",
    "决定2：重叠和相连的技能工作合并，不重复计算，2023-12-31尚未满3年",
    "决定2：只计技能工作，2026-09-01满3年",
}


def test_an_office_that_makes_the_engineer_route_2_years_sees_the_cases_it_changes(capsys, tmp_path):
    text = CROSSOVER_RULESET.read_text("utf-8")
    edited, count = re.subn(r"(\[parameters\.engineer_years\]\s*\nvalue\s*=\s*)\d+", r"\g<1>2", text)
    assert count == 1
    path = tmp_path / "engineer-years-2.toml"
    path.write_text(edited, encoding="utf-8")
    policy = taian_titles.load_policy(default_ruleset_path(), path)
    failed = {r.case.name.split(" / ")[0]: r for r in run_casebooks([CROSSOVER_CASES], policy).failures}
    assert set(failed) == TURN_ON_ENGINEER_YEARS
    for result in failed.values():
        assert {d.key for d in result.differences} & {"outcomes", "not_met"}, result
    status, out, _ = run(capsys, "ruleset", "test", "--ruleset", str(default_ruleset_path()), "--ruleset", str(path))
    assert status == 1 and out.count("FAIL ") == len(TURN_ON_ENGINEER_YEARS)
