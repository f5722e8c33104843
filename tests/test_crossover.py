"""The crossover (鲁人社发〔2020〕16号), clause by clause and decision by decision (docs/crossover.md).

山东省人力资源和社会保障厅《关于工程技术领域高技能人才与工程技术人才职业贯通发展的实施意见》: after
obtaining 高级工, 2 full years of the corresponding skilled work open the 助理工程师 review; after 技师,
3 years the 工程师 review; after 高级技师, 4 years the 高级工程师 review; with the basic conditions
(the last 3 annual appraisals passed, continuing education done).  Each test states a case in
the policy's own terms — who holds which skill level since when, what work they did, on which
date they ask — and what the crossover answers.  Measure nine's clause M9-3a puts the crossover
into effect for digital skilled talents; by default both documents are evaluated together.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shlex
from pathlib import Path

import pytest

import taian_titles
from taian_titles import evaluate, load_policy
from taian_titles.cli import main
from taian_titles.render import render_decision

ROOT = Path(__file__).resolve().parent.parent
CROSSOVER_FILE = ROOT / "rulesets" / "lurenshefa-2020-16.toml"
MEASURE9_FILE = ROOT / "rulesets" / "tairenshefa-2025-5.toml"
CROSSOVER = "lurenshefa-2020-16.crossover"
MEASURE9 = "tairenshefa-2025-5.measure9"
AS_OF = "2025-06-01"
ASSISTANT, ENGINEER, SENIOR = ("crossover_apply_assistant_engineer", "crossover_apply_engineer",
                               "crossover_apply_senior_engineer")
ROUTES = {ASSISTANT, ENGINEER, SENIOR}


def level(code, issued_on=None, occupation="数控车工", digital=False):
    out = {"level": code, "digital": digital, "occupation": occupation}
    if issued_on:
        out["issued_on"] = issued_on
    return out


def skilled(start, end=None, direction="数控加工"):
    return {"start": start, "end": end, "kind": "skilled", "direction": direction}


def applicant(*levels, work=(), as_of=AS_OF, **more):
    return {"id": "S-1", "as_of": as_of, "skill_levels": list(levels), "work_periods": list(work), **more}


def routes(decision):
    return {code for code in decision.codes if code in ROUTES}


def pending(decision):
    return {n.code: n.eligible_on for n in decision.not_met if n.code in ROUTES}


def day(text):
    return dt.date.fromisoformat(text)


# ---------------------------------------------------------------- LR16-1: who the crossover is for

@pytest.mark.parametrize("code", ["apprentice", "junior_worker", "intermediate_worker"])
def test_lr16_1_below_senior_worker_no_route_opens(code):
    d = evaluate(applicant(level(code, "2010-01-01"), work=[skilled("2010-01-01")]))
    assert routes(d) == set() and pending(d) == {}


@pytest.mark.parametrize("code, route", [("senior_worker", ASSISTANT), ("technician", ENGINEER),
                                         ("senior_technician", SENIOR), ("special_technician", SENIOR),
                                         ("chief_technician", SENIOR)])
def test_lr16_1_each_level_from_senior_worker_opens_its_route(code, route):
    d = evaluate(applicant(level(code, "2015-01-01"), work=[skilled("2015-01-01")]))
    assert routes(d) == {route}
    assert d.outcome(route).basis == ("work_period:0", "skill_level:0")


def test_lr16_1_a_level_obtained_after_the_evaluation_date_opens_nothing_yet():
    d = evaluate(applicant(level("technician", "2025-06-02"), work=[skilled("2010-01-01")]))
    assert routes(d) == set() and pending(d) == {}


# ---------------------------------------------------------------- LR16-3a/b/c: the three routes

def test_lr16_3a_senior_worker_plus_2_years_may_apply_for_assistant_engineer():
    d = evaluate(applicant(level("senior_worker", "2023-06-01"), work=[skilled("2023-06-01")]))
    outcome = d.outcome(ASSISTANT)
    assert outcome.clause == "LR16-3a"
    assert outcome.clause_text == "取得高级工职业资格或职业技能等级后，从事相应技术技能工作满2年，可申报评审相应专业助理工程师；"
    assert outcome.explanation.zh.startswith(
        "您持有高级工（数控车工），取得该等级后从事技能工作已计入2年（计入的工作日首尾相接自 2023-06-01 起，"
        "至 2025-05-31 止，评估日当天不计入），已满2年，依据鲁人社发〔2020〕16号，可申报评审相应专业助理工程师。")
    assert "assistant engineer review" in outcome.explanation.en


def test_lr16_3a_the_day_before_the_second_anniversary_it_is_not_yet_met_and_says_when():
    d = evaluate(applicant(level("senior_worker", "2023-06-01"), work=[skilled("2023-06-01")], as_of="2025-05-31"))
    assert routes(d) == set()
    assert pending(d) == {ASSISTANT: day("2025-06-01")}
    (entry,) = d.not_met
    assert "已计入1年11个月30天，距满2年尚差1天（1天）" in entry.explanation.zh
    assert "将于 2025-06-01 满2年" in entry.explanation.zh


@pytest.mark.parametrize("code, route, years, issued", [
    ("senior_worker", ASSISTANT, 2, "2022-03-01"), ("technician", ENGINEER, 3, "2022-03-01"),
    ("senior_technician", SENIOR, 4, "2021-03-01"), ("chief_technician", SENIOR, 4, "2021-03-01")])
def test_each_route_is_met_on_its_anniversary_not_the_day_before(code, route, years, issued):
    record = applicant(level(code, issued), work=[skilled(issued)])
    anniversary = day(issued).replace(year=day(issued).year + years)
    assert route in evaluate(record, as_of=anniversary).codes
    assert route in evaluate(record, as_of=anniversary + dt.timedelta(days=1)).codes
    before = evaluate(record, as_of=anniversary - dt.timedelta(days=1))
    assert pending(before) == {route: anniversary}


def test_lr16_3b_technician_plus_3_years_may_apply_for_engineer():
    outcome = evaluate(applicant(level("technician", "2022-03-01"), work=[skilled("2022-03-01")],
                                 as_of="2025-03-01")).outcome(ENGINEER)
    assert outcome.clause == "LR16-3b" and "已满3年" in outcome.explanation.zh
    assert "可申报评审相应专业工程师" in outcome.explanation.zh


def test_lr16_3c_senior_technician_plus_4_years_may_apply_for_senior_engineer():
    outcome = evaluate(applicant(level("senior_technician", "2021-03-01"), work=[skilled("2021-03-01")],
                                 as_of="2025-03-01")).outcome(SENIOR)
    assert outcome.clause == "LR16-3c" and "已满4年" in outcome.explanation.zh
    assert outcome.clause_text.startswith("取得高级技师职业资")  # the available text breaks off here


def test_work_that_has_ended_short_of_the_years_gives_no_date():
    d = evaluate(applicant(level("senior_worker", "2022-01-01"), work=[skilled("2022-01-01", "2023-06-30")]))
    assert pending(d) == {ASSISTANT: None}
    assert "没有仍在继续的技能工作" in d.not_met[0].explanation.zh


# ---------------------------------------------------------------- decision 1: several levels, several routes

def test_decision_1_each_level_held_opens_its_own_route_counted_from_its_own_date():
    d = evaluate(applicant(level("senior_worker", "2018-05-01"), level("technician", "2024-01-01"),
                           work=[skilled("2016-09-01")]))
    assert routes(d) == {ASSISTANT}
    assert pending(d) == {ENGINEER: day("2027-01-01")}


def test_decision_1_a_route_met_through_one_level_is_not_also_pending_through_another():
    d = evaluate(applicant(level("senior_technician", "2019-01-01"), level("special_technician", "2024-01-01"),
                           work=[skilled("2010-01-01")]))
    assert routes(d) == {SENIOR} and pending(d) == {}


def test_decision_1_two_levels_of_one_route_both_short_give_the_earlier_date():
    d = evaluate(applicant(level("senior_technician", "2024-01-01"), level("special_technician", "2025-01-01"),
                           work=[skilled("2010-01-01")]))
    assert pending(d) == {SENIOR: day("2028-01-01")}


# ---------------------------------------------------------------- decision 2: the years

def test_decision_2_skilled_work_before_the_level_is_not_counted_and_a_note_says_so():
    d = evaluate(applicant(level("technician", "2023-06-01"), work=[skilled("2015-01-01")]))
    assert pending(d) == {ENGINEER: day("2026-06-01")}
    (note,) = [n for n in d.notes if n.code == "skilled_work_before_level"]
    assert note.basis == ("work_period:0", "skill_level:0")
    assert note.explanation.zh == ("第1段工作经历（技能工作，自 2015-01-01 起）开始于您取得技师的日期 2023-06-01 之前："
                                   "鲁人社发〔2020〕16号的年限自取得该等级之日起算，该日期之前的技能工作不计入通往"
                                   "工程师的贯通年限。")
    assert "does not count towards the crossover to engineer" in note.explanation.en


def test_decision_2_no_note_when_all_the_work_is_after_the_level():
    d = evaluate(applicant(level("technician", "2020-01-01"), work=[skilled("2020-01-01")]))
    assert "skilled_work_before_level" not in {n.code for n in d.notes}


def test_decision_2_overlapping_periods_count_each_day_once():
    work = [skilled("2021-01-01", "2022-12-31"), skilled("2022-06-01", "2023-12-31"), skilled("2024-01-01")]
    record = applicant(level("technician", "2021-01-01"), work=work)
    assert pending(evaluate(record, as_of="2023-12-31")) == {ENGINEER: day("2024-01-01")}
    assert ENGINEER in evaluate(record, as_of="2024-01-01").codes


def test_decision_2_professional_technical_work_is_not_skilled_work():
    d = evaluate(applicant(level("technician", "2020-01-01"),
                           work=[{"start": "2020-01-01", "kind": "professional_technical", "direction": "电气"}]))
    assert routes(d) == set() and pending(d) == {ENGINEER: None}


def test_decision_2_a_level_without_its_date_cannot_confirm_the_years():
    """「取得该等级后」: the years start on the day the level was obtained.  A record without that
    day cannot show them, however long the skilled work: the route is not met, no date is
    promised, and the explanation names the missing date."""
    d = evaluate(applicant(level("technician"), work=[skilled("2005-01-01")]))
    assert routes(d) == set() and pending(d) == {ENGINEER: None}
    (entry,) = d.not_met
    assert entry.rules == ("LR16-3b-not-met-undated",) and entry.basis == ("skill_level:0",)
    assert "记录中没有取得该等级的日期" in entry.explanation.zh
    assert "gives no date on which you obtained it" in entry.explanation.en


def test_decision_2_the_years_are_parameters_of_the_document(tmp_path):
    edited = CROSSOVER_FILE.read_text("utf-8").replace(
        "[parameters.engineer_years]\nvalue = 3", "[parameters.engineer_years]\nvalue = 2")
    path = tmp_path / "engineer-2.toml"
    path.write_text(edited, "utf-8")
    record = applicant(level("technician", "2023-06-01"), work=[skilled("2023-06-01")])
    assert ENGINEER not in evaluate(record).codes
    assert ENGINEER in evaluate(record, policy=load_policy(MEASURE9_FILE, path)).codes


# ---------------------------------------------------------------- LR16-2 and decision 3: the basic conditions

def test_decision_3_conditions_the_record_does_not_state_are_named_as_still_to_meet():
    outcome = evaluate(applicant(level("technician", "2020-01-01"), work=[skilled("2020-01-01")])).outcome(ENGINEER)
    assert ("申报时还须符合基本条件：近3年年度考核合格（记录中未说明，申报时须另行证明）、按照规定参加专业技术人员继续教育"
            "（记录中未说明，申报时须另行证明）、在工程技术领域生产一线岗位从事技术技能工作、符合本省工程技术领域相关职称评价"
            "标准条件，所从事的技能工作须与申报的专业相应。") in outcome.explanation.zh


def test_decision_3_conditions_the_record_states_as_met_are_said_so():
    outcome = evaluate(applicant(level("technician", "2020-01-01"), work=[skilled("2020-01-01")],
                                 appraisals_passed=True, continuing_education_done=True)).outcome(ENGINEER)
    assert "近3年年度考核合格（记录显示已合格）" in outcome.explanation.zh
    assert "继续教育（记录显示已按规定参加）" in outcome.explanation.zh


@pytest.mark.parametrize("field, words", [("appraisals_passed", "近3年年度考核——记录显示未全部合格"),
                                          ("continuing_education_done", "继续教育——记录显示未按规定参加")])
def test_decision_3_a_condition_stated_false_closes_the_route_without_a_date(field, words):
    d = evaluate(applicant(level("senior_worker", "2024-09-01"), level("technician", "2015-01-01"),
                           work=[skilled("2015-01-01")], **{field: False}))
    assert routes(d) == set()
    assert pending(d) == {ASSISTANT: None, ENGINEER: None}
    assert all(words in n.explanation.zh for n in d.not_met)


# ---------------------------------------------------------------- decision 5: titles held

@pytest.mark.parametrize("title, closed", [
    ("entry", set()), ("junior", {ASSISTANT}), ("intermediate", {ASSISTANT, ENGINEER}),
    ("deputy_senior", ROUTES), ("senior", ROUTES), ("full_senior", ROUTES)])
def test_decision_5_a_title_held_or_exceeded_closes_the_route_with_a_note(title, closed):
    record = applicant(level("senior_worker", "2012-01-01"), level("technician", "2015-01-01"),
                       level("senior_technician", "2019-01-01"), work=[skilled("2012-01-01")],
                       titles=[{"level": title, "digital": False}])
    d = evaluate(record)
    assert routes(d) == ROUTES - closed
    held = [n for n in d.notes if n.code == "title_already_held"]
    assert len([n for n in held if n.rule.startswith("LR16-")]) == len(closed)


# ---------------------------------------------------------------- decisions 4 and 7: with measure nine

def sha256(path):
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_decision_7_the_result_names_both_rulesets():
    d = evaluate(applicant(level("technician", "2020-01-01"), work=[skilled("2020-01-01")])).to_dict()
    assert d["ruleset"]["id"] == MEASURE9
    assert [(r["id"], r["digest"]) for r in d["rulesets"]] == [(MEASURE9, sha256(MEASURE9_FILE)),
                                                              (CROSSOVER, sha256(CROSSOVER_FILE))]
    assert all(r["version"] for r in d["rulesets"])


def test_decision_4_m9_3a_names_the_crossover_route_of_a_digital_skilled_talent():
    d = evaluate(applicant(level("technician", "2021-03-01", "工业互联网运维员", digital=True),
                           work=[skilled("2021-03-01", direction="工业互联网")]))
    assert {"skilled_may_apply_title", ENGINEER} <= set(d.codes)
    m9_3a = d.outcome("skilled_may_apply_title")
    assert m9_3a.explanation.zh.endswith("所落实的贯通政策为鲁人社发〔2020〕16号：您可通过贯通申报评审相应专业工程师（见该项结论）。")
    assert m9_3a.rules[-1] == "LR16-3b-in-M9-3a"


def test_decision_4_m9_3a_names_a_route_not_yet_open():
    d = evaluate(applicant(level("senior_worker", "2025-01-01", "人工智能训练师", digital=True),
                           work=[skilled("2025-01-01", direction="人工智能")]))
    assert "skilled_may_apply_title" in d.codes and pending(d) == {ASSISTANT: day("2027-01-01")}
    assert "您的贯通途径是申报评审相应专业助理工程师，尚未满足" in d.outcome("skilled_may_apply_title").explanation.zh


def test_decision_4_the_crossover_is_not_limited_to_digital_occupations():
    d = evaluate(applicant(level("technician", "2020-01-01", "焊工"), work=[skilled("2020-01-01", direction="焊接")]))
    assert set(d.codes) == {ENGINEER}


def test_the_letter_cites_each_clause_under_its_own_document_and_is_headed_by_its_routes():
    digital = evaluate(applicant(level("technician", "2021-03-01", "工业互联网运维员", digital=True),
                                 work=[skilled("2021-03-01", direction="工业互联网")]))
    letter = render_decision(digital, "text", "zh")
    assert "数字人才职称评价结果告知书" in letter
    assert "可申报评审相应专业工程师；」（鲁人社发〔2020〕16号）" in letter
    assert "数字技能人才可参加职称评审或考试，」（泰人社发〔2025〕5号）" in letter
    skilled_only = evaluate(applicant(level("technician", "2020-01-01", "焊工"), work=[skilled("2020-01-01")]))
    zh, en = render_decision(skilled_only, "text", "zh"), render_decision(skilled_only, "text", "en")
    assert "技能人才职称贯通评价结果告知书" in zh and "数字人才" not in zh.splitlines()[1]
    assert "Notice of evaluation: the crossover from skill levels to engineering titles" in en
    assert "鲁人社发〔2020〕16号《关于工程技术领域高技能人才与工程技术人才职业贯通发展的实施意见》，2020年印发" in zh
    assert "engineering field, issued in 2020" in en and "issued on 2020" not in en


# ---------------------------------------------------------------- either document alone

def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_the_crossover_runs_alone_from_the_command(capsys, tmp_path):
    record = applicant(level("technician", "2020-01-01", "人工智能训练师", digital=True),
                       work=[skilled("2020-01-01", direction="人工智能")])
    path = tmp_path / "a.json"
    path.write_text(json.dumps(record, ensure_ascii=False), "utf-8")
    status, out, _ = run(capsys, "evaluate", str(path), "--ruleset", str(CROSSOVER_FILE), "--format", "json")
    assert status == 0
    (result,) = json.loads(out) if out.lstrip().startswith("[") else [json.loads(out)]
    assert [r["id"] for r in result["rulesets"]] == [CROSSOVER] and result["ruleset"]["id"] == CROSSOVER
    assert [o["code"] for o in result["outcomes"]] == [ENGINEER]  # no M9-3a: measure nine is not loaded
    status, out, _ = run(capsys, "evaluate", str(path), "--ruleset", str(MEASURE9_FILE), "--format", "json")
    (result,) = json.loads(out) if out.lstrip().startswith("[") else [json.loads(out)]
    assert [r["id"] for r in result["rulesets"]] == [MEASURE9]
    assert {o["code"] for o in result["outcomes"]} == {"skilled_may_apply_title"}


def test_the_shipped_policy_is_both_documents_in_order():
    assert [d.id for d in taian_titles.default_policy().documents] == [MEASURE9, CROSSOVER]


# ---------------------------------------------------------------- the documentation's examples are real output

_EXAMPLE = re.compile(r"<!-- output: taian-titles (?P<args>.+?) -->\n```\w*\n(?P<shown>.*?)\n```", re.S)
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def doc_examples():
    for name in ("officers.md", "developers.md"):
        for match in _EXAMPLE.finditer((ROOT / "docs" / name).read_text("utf-8")):
            yield pytest.param(match["args"], match["shown"], id=f"{name}: {match['args']}")


@pytest.mark.parametrize("args, shown", list(doc_examples()))
def test_the_crossover_examples_in_the_docs_are_what_the_command_prints(capsys, monkeypatch, args, shown):
    """docs/officers.md and docs/developers.md show a crossover letter and its JSON: each is the
    command's output today (the rulesets' digests aside, which change with every edit)."""
    monkeypatch.chdir(ROOT)
    status, out, _ = run(capsys, *shlex.split(args))
    assert status == 0
    assert _DIGEST.sub("sha256:…", shown) == _DIGEST.sub("sha256:…", out.rstrip("\n"))


def test_both_pages_show_a_crossover_letter_and_its_json():
    for name in ("officers.md", "developers.md"):
        shown = {m["args"] for m in _EXAMPLE.finditer((ROOT / "docs" / name).read_text("utf-8"))}
        assert any("--format text" in a for a in shown) and any("--format" not in a for a in shown), name


def test_a_roster_states_the_basic_conditions_in_its_own_columns(capsys, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("编号,评估日期,近3年年度考核合格,已参加继续教育,技能等级1等级,技能等级1数字领域,技能等级1发证日期,"
                      "工作经历1开始日期,工作经历1性质,工作经历1方向\n"
                      "R-1,2025-06-01,否,,技师,否,2020-01-01,2020-01-01,技能工作,焊接\n"
                      "R-2,2025-06-01,是,是,技师,否,2020-01-01,2020-01-01,技能工作,焊接\n", "utf-8")
    status, out, err = run(capsys, "evaluate", str(roster), "--format", "json")
    assert status == 0, err
    first, second = json.loads(out)
    assert [(n["code"], n["eligible_on"]) for n in first["not_met"]] == [(ENGINEER, None)]
    assert "记录显示未全部合格" in first["not_met"][0]["explanation"]["zh"]
    assert [o["code"] for o in second["outcomes"]] == [ENGINEER]
    assert "记录显示已按规定参加" in second["outcomes"][0]["explanation"]["zh"]
    assert "名单自有列" not in err  # both columns are read, not carried as the office's own


def test_a_level_without_an_occupation_leaves_no_empty_brackets():
    record = applicant({"level": "technician", "digital": False, "issued_on": "2020-01-01"},
                       {"level": "senior_worker", "digital": True}, work=[skilled("2020-01-01")])
    d = evaluate(record)
    texts = [t for e in (*d.outcomes, *d.not_met, *d.notes) for t in (e.explanation.zh, e.explanation.en)]
    assert any(t.startswith("您持有技师，取得该等级后") for t in texts)
    assert any("职业技能等级（第1项，技师）不属于数字领域职业" in t for t in texts)
    assert any(t.startswith("You hold technician, and since") for t in texts)
    assert not [t for t in texts if "（）" in t or "()" in t or "，）" in t or ", )" in t]
    # with an occupation the brackets stay
    assert "您持有技师（焊工）" in evaluate(applicant(level("technician", "2020-01-01", "焊工"),
                                                   work=[skilled("2020-01-01")])).outcome(ENGINEER).explanation.zh
