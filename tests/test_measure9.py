"""Measure nine, clause by clause and decision by decision (shared/spec/measure9.md).

Each test states a case in the policy's own terms: who holds what on which date, and what
measure nine grants.  A policy expert should be able to read them without knowing Python.
"""

from __future__ import annotations

import datetime as dt

import pytest

from taian_titles import default_ruleset, evaluate

AS_OF = "2025-06-01"


def certificate(number, kind, level, direction="人工智能", issued_on="2024-01-10", **extra):
    return {"number": number, "programme": "digital_technology_engineer", "kind": kind,
            "level": level, "direction": direction, "issued_on": issued_on, **extra}


def work(start, end=None, kind="professional_technical", direction="人工智能"):
    return {"start": start, "end": end, "kind": kind, "direction": direction}


def applicant(as_of=AS_OF, **items):
    return {"id": "A-1", "as_of": as_of, **items}


def codes(record, **kw):
    return set(evaluate(record, **kw).codes)


# ---------------------------------------------------------------- M9-2a: direct recognition

def test_m9_2a_a_junior_level_certificate_is_recognised_as_a_junior_title():
    d = evaluate(applicant(certificates=[certificate("DTE-1", "professional_level", "junior")]))
    outcome = d.outcome("recognize_junior_title")
    assert outcome is not None and outcome.clause == "M9-2a"
    assert outcome.basis == ("certificate:DTE-1",)
    assert outcome.explanation.zh == ("您持有的人工智能方向初级专业技术等级证书（编号DTE-1）依据泰人社发〔2025〕5号"
                                      "第九条，可直接认定初级职称（助理工程师）。")
    assert "assistant engineer" in outcome.explanation.en
    assert outcome.clause_text.startswith("推动数字技术工程师培育项目与职称评定衔接")
    assert d.highest_recognized_title.code == "junior"


def test_m9_2a_an_intermediate_level_certificate_is_recognised_as_an_intermediate_title():
    d = evaluate(applicant(certificates=[certificate("DTE-2", "professional_level", "intermediate")]))
    assert "recognize_intermediate_title" in d.codes
    assert "recognize_junior_title" not in d.codes
    assert d.highest_recognized_title.code == "intermediate"


def test_decision_4_every_applicable_clause_yields_its_outcome_and_the_highest_title_is_named():
    d = evaluate(applicant(certificates=[certificate("J", "professional_level", "junior"),
                                         certificate("I", "professional_level", "intermediate")]))
    assert {"recognize_junior_title", "recognize_intermediate_title"} <= set(d.codes)
    assert d.highest_recognized_title.code == "intermediate"


def test_no_title_is_recognised_without_a_level_certificate():
    d = evaluate(applicant(certificates=[certificate("T", "training", "junior")]))
    assert d.highest_recognized_title is None


# ---------------------------------------------------------------- M9-2b, M9-2c

def test_m9_2b_a_senior_level_certificate_is_the_achievement_condition_of_a_senior_application():
    d = evaluate(applicant(certificates=[certificate("S", "professional_level", "senior")]))
    assert d.outcome("senior_achievement_condition").clause == "M9-2b"
    assert d.highest_recognized_title is None  # no direct recognition at senior level


def test_m9_2c_a_junior_training_certificate_opens_the_junior_review_or_exam():
    d = evaluate(applicant(certificates=[certificate("T", "training", "junior")]))
    assert d.outcome("apply_junior_title").basis == ("certificate:T",)


# ---------------------------------------------------------------- M9-2d: three full years

def test_m9_2d_intermediate_training_and_three_full_years_in_the_speciality():
    # Working since 2022-06-01: three full years are reached on 2025-06-01 (decision 6).
    d = evaluate(applicant(as_of="2025-06-01",
                           certificates=[certificate("T2", "training", "intermediate")],
                           work_periods=[work("2022-06-01")]))
    outcome = d.outcome("apply_intermediate_title")
    assert outcome.basis == ("certificate:T2", "work_period:0")
    assert "3年" in outcome.explanation.zh and "3 years" in outcome.explanation.en


def test_m9_2d_one_day_before_the_anniversary_is_not_yet_three_years():
    d = evaluate(applicant(as_of="2025-05-31",
                           certificates=[certificate("T2", "training", "intermediate")],
                           work_periods=[work("2022-06-01")]))
    assert "apply_intermediate_title" not in d.codes
    (not_met,) = d.not_met
    assert not_met.code == "apply_intermediate_title" and not_met.clause == "M9-2d"
    assert not_met.eligible_on == dt.date(2025, 6, 1)
    assert "2025-06-01" in not_met.explanation.zh
    assert "1天" in not_met.explanation.zh  # one day short


def test_decision_6_work_from_29_february_meets_three_years_on_28_february():
    record = applicant(certificates=[certificate("T2", "training", "intermediate")],
                       work_periods=[work("2024-02-29")])
    assert "apply_intermediate_title" in codes(record, as_of="2027-02-28")
    assert "apply_intermediate_title" not in codes(record, as_of="2027-02-27")


@pytest.mark.parametrize("as_of", ["2026-01-01", "2026-06-01", "2031-12-31"])
def test_decision_6_a_finished_three_year_period_is_met_whatever_the_date_after_it(as_of):
    # 2023-01-01 to 2025-12-31 is three full years (revised in ruleset 1.1).
    d = evaluate(applicant(as_of=as_of, certificates=[certificate("T2", "training", "intermediate")],
                           work_periods=[work("2023-01-01", "2025-12-31")]))
    assert "apply_intermediate_title" in d.codes and not d.not_met


@pytest.mark.parametrize("as_of", ["2026-01-01", "2026-06-01", "2031-12-31"])
def test_decision_6_a_finished_period_one_day_short_stays_short_whatever_the_date(as_of):
    d = evaluate(applicant(as_of=as_of, certificates=[certificate("T2", "training", "intermediate")],
                           work_periods=[work("2023-01-02", "2025-12-31")]))
    assert "apply_intermediate_title" not in d.codes
    (not_met,) = d.not_met
    assert not_met.eligible_on is None  # no recorded work continues
    assert "1天" in not_met.explanation.zh and "1 day" in not_met.explanation.en
    assert "（1天）" in not_met.explanation.zh and "(1 day)" in not_met.explanation.en


def test_decision_6_overlapping_and_adjacent_periods_count_each_day_once():
    periods = [work("2021-01-01", "2022-06-30"), work("2022-03-01", "2022-12-31"),
               work("2023-01-01", "2023-12-30")]  # one day short of three years
    record = applicant(as_of="2025-06-01", certificates=[certificate("T2", "training", "intermediate")],
                       work_periods=periods)
    assert "apply_intermediate_title" not in codes(record)
    record["work_periods"].append(work("2023-12-31", "2023-12-31"))  # the missing day
    assert "apply_intermediate_title" in codes(record)


def test_decision_5_work_in_another_direction_or_skilled_work_does_not_count():
    cert = [certificate("T2", "training", "intermediate", direction="大数据")]
    other_direction = applicant(certificates=cert, work_periods=[work("2020-01-01", direction="人工智能")])
    skilled = applicant(certificates=cert, work_periods=[work("2020-01-01", kind="skilled", direction="大数据")])
    for record in (other_direction, skilled):
        d = evaluate(record)
        assert "apply_intermediate_title" not in d.codes
        assert [n.code for n in d.not_met] == ["apply_intermediate_title"]
        assert "大数据" in d.not_met[0].explanation.zh


def test_m9_2d_not_met_names_the_time_worked_and_the_day_it_will_be_met():
    # The example of the exchange format: working since 2022-11-20, evaluated on 2025-06-01.
    d = evaluate(applicant(certificates=[certificate("T2", "training", "intermediate", issued_on="2024-11-20")],
                           work_periods=[work("2022-11-20")]))
    (not_met,) = d.not_met
    assert not_met.eligible_on == dt.date(2025, 11, 20)
    assert "2年6个月12天" in not_met.explanation.zh
    assert "2 years, 6 months and 12 days" in not_met.explanation.en


# ---------------------------------------------------------------- M9-1: exceptional senior application

def test_m9_1_a_digital_technical_talent_with_an_achievement_may_apply_exceptionally():
    record = applicant(certificates=[certificate("J", "professional_level", "junior")],
                       achievements=[{"description": "省级科技进步奖", "date": "2024-12-01"}])
    outcome = evaluate(record).outcome("apply_senior_title_exceptional")
    assert outcome.clause == "M9-1"
    assert "achievement:0" in outcome.basis and "certificate:J" in outcome.basis
    assert "省级科技进步奖" in outcome.explanation.zh


def test_decision_7_a_senior_title_already_held_removes_m9_1():
    record = applicant(certificates=[certificate("J", "professional_level", "junior")],
                       achievements=[{"description": "省级科技进步奖"}],
                       titles=[{"level": "senior", "speciality": "计算机", "digital": True}])
    assert "apply_senior_title_exceptional" not in codes(record)


def test_decision_7_no_achievement_no_exceptional_application():
    record = applicant(certificates=[certificate("J", "professional_level", "junior")])
    assert "apply_senior_title_exceptional" not in codes(record)


# ---------------------------------------------------------------- M9-3: crossover

@pytest.mark.parametrize("level, expected", [
    ("intermediate_worker", False), ("senior_worker", True), ("技师", True), ("首席技师", True)])
def test_decision_9_digital_skill_levels_from_senior_worker_may_apply_for_titles(level, expected):
    record = applicant(skill_levels=[{"level": level, "digital": True, "occupation": "人工智能训练师"}])
    d = evaluate(record)
    assert ("skilled_may_apply_title" in d.codes) is expected
    assert (["skilled_may_apply_title"] == [n.code for n in d.not_met]) is (not expected)


def test_m9_3a_a_non_digital_skill_level_does_not_count():
    record = applicant(skill_levels=[{"level": "technician", "digital": False, "occupation": "焊工"}])
    assert codes(record) == set()


@pytest.mark.parametrize("items, basis", [
    ({"certificates": [certificate("T", "training", "junior")]}, "certificate:T"),
    ({"titles": [{"level": "intermediate", "speciality": "软件工程", "digital": True}]}, "title:0"),
    ({"work_periods": [work("2025-01-01", direction="区块链")]}, "work_period:0"),
])
def test_decision_8_m9_3b_digital_technical_talents_may_take_skill_assessment(items, basis):
    outcome = evaluate(applicant(**items)).outcome("technical_may_apply_skill_level")
    assert outcome.clause == "M9-3b" and basis in outcome.basis


def test_decision_8_work_outside_the_digital_directions_is_no_digital_talent():
    record = applicant(work_periods=[work("2020-01-01", direction="会计")],
                       titles=[{"level": "junior", "speciality": "会计", "digital": False}])
    assert codes(record) == set()


# ---------------------------------------------------------------- decisions 1-3: what counts

def test_decision_1_before_the_measure_took_effect_nothing_applies_and_the_note_says_why():
    d = evaluate(applicant(as_of="2025-04-29", certificates=[certificate("J", "professional_level", "junior")]))
    assert d.outcomes == () and d.not_met == () and d.highest_recognized_title is None
    assert [n.code for n in d.notes] == ["measure_not_in_force"]
    assert "2025-04-30" in d.notes[0].explanation.zh
    assert evaluate(applicant(as_of="2025-04-30", certificates=[certificate("J", "professional_level", "junior")])
                    ).highest_recognized_title is not None


def test_decision_2_a_certificate_issued_after_the_evaluation_date_is_left_out_with_a_note():
    d = evaluate(applicant(certificates=[certificate("LATE", "professional_level", "junior",
                                                     issued_on="2025-06-02")]))
    assert "recognize_junior_title" not in d.codes
    assert [(n.code, n.basis) for n in d.notes] == [("certificate_after_as_of", ("certificate:LATE",)),
                                                    ("no_clause_applies", ())]


def test_decision_2_work_after_the_evaluation_date_does_not_count():
    d = evaluate(applicant(as_of="2025-06-01", certificates=[certificate("T2", "training", "intermediate")],
                           work_periods=[work("2022-06-01", "2026-01-01")]))
    assert "apply_intermediate_title" in d.codes
    assert [n.code for n in d.notes] == ["work_period_partly_after_as_of"]
    d = evaluate(applicant(work_periods=[work("2026-01-01")]))
    assert d.codes == () and [n.code for n in d.notes] == ["work_period_after_as_of", "no_clause_applies"]


def test_decision_3_revoked_and_other_programmes_do_not_count():
    d = evaluate(applicant(certificates=[
        certificate("REV", "professional_level", "intermediate", revoked=True),
        {**certificate("PMP", "professional_level", "intermediate"), "programme": "项目管理专业人士"}]))
    assert d.codes == ()
    assert {(n.code, n.basis) for n in d.notes} == {
        ("certificate_revoked", ("certificate:REV",)),
        ("certificate_other_programme", ("certificate:PMP",)), ("no_clause_applies", ())}


# ---------------------------------------------------------------- the ruleset behind it

def test_every_decision_names_the_ruleset_it_came_from():
    d = evaluate(applicant())
    rs = default_ruleset()
    assert d.to_dict()["ruleset"] == {"id": rs.id, "version": rs.version, "digest": rs.digest}
    assert rs.digest.startswith("sha256:") and len(rs.digest) == 7 + 64


def test_every_rule_cites_a_clause_whose_verbatim_text_is_in_the_source_document():
    from pathlib import Path
    source = (Path(__file__).parent.parent.parent / "shared" / "spec" / "tairenshefa-2025-5.zh.txt")
    rs = default_ruleset()
    if source.exists():  # the authority, beside the project in this workplace
        text = source.read_text(encoding="utf-8")
        for cid, clause in rs.clauses.items():
            assert clause["zh"] in text, cid
    for rule in rs.rules:
        assert all(c in rs.clauses for c in rule.clauses), rule.id


def test_m9_2d_work_that_starts_after_the_evaluation_date_still_says_when_it_will_be_met():
    # Found by the invariant suite: no day of the speciality is covered yet, but the recorded
    # work, if it goes on, meets the three years on its third anniversary.
    d = evaluate(applicant(certificates=[certificate("T2", "training", "intermediate")],
                           work_periods=[work("2025-06-02")]))
    (not_met,) = d.not_met
    assert not_met.eligible_on == dt.date(2028, 6, 2)
    assert not_met.basis == ("certificate:T2", "work_period:0")
    assert "2025-06-02" in not_met.explanation.zh and "2028-06-02" in not_met.explanation.en
    assert "apply_intermediate_title" in codes(applicant(as_of="2028-06-02",
                                                         certificates=[certificate("T2", "training", "intermediate")],
                                                         work_periods=[work("2025-06-02")]))


def test_m9_2d_work_that_starts_after_the_evaluation_date_and_ends_too_soon_gives_no_date():
    # Found by the deep invariant run: recorded work that has not started and, as recorded,
    # ends before three years never meets M9-2d, so the letter must not promise a date.
    d = evaluate(applicant(certificates=[certificate("T2", "training", "intermediate")],
                           work_periods=[work("2025-06-02", "2026-06-01")]))
    (not_met,) = d.not_met
    assert not_met.eligible_on is None
    assert not_met.rules == ("M9-2d-not-met-work-not-started-too-short",)
    assert not_met.basis == ("certificate:T2", "work_period:0")
    assert "2025-06-02" in not_met.explanation.zh and "不满3年" in not_met.explanation.zh
    assert "falls short of 3 full years" in not_met.explanation.en
    assert " 起可直接申报" not in not_met.explanation.zh
