"""The exchange format: valid records in and out, and every kind of bad input named precisely."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from hypothesis import given, strategies as st

from taian_titles import (
    Applicant,
    Certificate,
    CertificateKind,
    InputError,
    Level,
    SkillLevel,
    WorkPeriod,
    applicant_from_dict,
    applicant_to_dict,
)
from taian_titles.exchange import parse_date

GOOD = {
    "id": "A-0001",
    "as_of": "2025-06-01",
    "certificates": [
        {"number": "DTE-AI-2023-000123", "programme": "digital_technology_engineer",
         "kind": "professional_level", "level": "junior", "direction": "人工智能",
         "issued_on": "2023-10-20", "revoked": False},
        {"number": "DTE-AI-2024-000456", "programme": "digital_technology_engineer",
         "kind": "training", "level": "intermediate", "direction": "人工智能",
         "issued_on": "2024-11-20"},
    ],
    "work_periods": [
        {"start": "2022-11-20", "end": None, "kind": "professional_technical",
         "direction": "人工智能", "employer": "泰安某科技有限公司"},
    ],
    "skill_levels": [
        {"level": "technician", "occupation": "工业互联网运维员", "digital": True,
         "issued_on": "2023-05-10"},
    ],
    "titles": [{"level": "entry", "speciality": "计算机应用", "digital": True}],
    "achievements": [{"description": "省级科学技术进步奖二等奖（第一完成人）", "date": "2024-12-01"}],
}


def problems_of(record: object) -> dict[str, str]:
    with pytest.raises(InputError) as info:
        applicant_from_dict(record)
    return {p.path: p.message for p in info.value.problems}


def with_change(path: list, value: object) -> dict:
    record = copy.deepcopy(GOOD)
    target = record
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return record


def test_the_spec_example_is_read_into_the_model():
    a = applicant_from_dict(GOOD)
    assert a.id == "A-0001" and a.as_of == dt.date(2025, 6, 1)
    assert a.certificates[1].kind is CertificateKind.training
    assert a.certificates[1].level is Level.intermediate
    assert a.certificates[1].revoked is False  # default
    assert a.work_periods[0].end is None and a.work_periods[0].ongoing
    assert a.skill_levels[0].level is SkillLevel.technician


def test_round_trip_keeps_everything():
    a = applicant_from_dict(GOOD)
    assert applicant_from_dict(applicant_to_dict(a)) == a
    out = applicant_to_dict(a)
    assert out["certificates"][0] == GOOD["certificates"][0]
    assert out["work_periods"][0]["end"] is None


@pytest.mark.parametrize("field, spelling, expected", [
    ("level", "中级", Level.intermediate),
    ("level", "Intermediate", Level.intermediate),
    ("level", " INTERMEDIATE ", Level.intermediate),  # not in the spellings table: the slow path
    ("kind", "培训合格证书", CertificateKind.training),
    ("kind", "training", CertificateKind.training),
    ("programme", "数字技术工程师培育项目", "digital_technology_engineer"),
])
def test_chinese_and_english_spellings_are_accepted(field, spelling, expected):
    a = applicant_from_dict(with_change(["certificates", 1, field], spelling))
    assert getattr(a.certificates[1], field) == expected


def test_skill_levels_accept_chinese_names_and_are_ordered():
    assert SkillLevel.parse("技师") is SkillLevel.technician
    assert SkillLevel.parse("高级工").rank == 4 and SkillLevel.parse("中级工").rank == 3
    assert [lv.rank for lv in SkillLevel] == list(range(1, 9))
    assert SkillLevel.senior_worker < SkillLevel.technician < SkillLevel.chief_technician


def test_unknown_enum_value_names_the_field_and_the_allowed_values():
    problems = problems_of(with_change(["certificates", 1, "level"], "expert"))
    assert problems == {
        "certificates[1].level": "'expert' is not one of junior, intermediate, senior"}


def test_unknown_skill_level():
    problems = problems_of(with_change(["skill_levels", 0, "level"], "master"))
    assert "skill_levels[0].level" in problems
    assert "apprentice" in problems["skill_levels[0].level"]
    assert "chief_technician" in problems["skill_levels[0].level"]


def test_impossible_date():
    problems = problems_of(with_change(["certificates", 0, "issued_on"], "2025-02-30"))
    assert list(problems) == ["certificates[0].issued_on"]
    assert "2025-02-30" in problems["certificates[0].issued_on"]


def _read_date_afresh(text):
    """parse_date's reading of a string, as it was before valid dates were cached (within the
    range of dates accepted)."""
    import re
    if not re.match(r"^\d{4}-\d{2}-\d{2}$", text):
        return ValueError
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return ValueError
    return day if dt.date(1900, 1, 1) <= day <= dt.date(2199, 12, 31) else ValueError  # the dates accepted


def _read_date(text):
    try:
        return parse_date(text)
    except ValueError:
        return ValueError


@given(st.one_of(st.dates().map(dt.date.isoformat), st.text(alphabet="0123456789-２W T:", max_size=12),
                 st.sampled_from(["2025-02-30", "2024-02-29", "2023-02-29", "2025-W01-1", "20250101",
                                  "2025-6-1", "２０２５-01-01", "2025-01-01 ", "0000-01-01"])))
def test_a_date_reads_the_same_every_time_it_is_read(text):
    # valid dates are cached; a cached reading equals a fresh one, and a bad date is refused
    # every time it comes (refusals are not cached)
    assert _read_date(text) == _read_date_afresh(text) == _read_date(text)
    if _read_date(text) is ValueError:
        with pytest.raises(ValueError, match="not a|outside the dates accepted"):
            parse_date(text)


def test_end_before_start():
    problems = problems_of(with_change(["work_periods", 0, "end"], "2021-01-01"))
    assert problems == {"work_periods[0].end": "2021-01-01 is before start 2022-11-20"}


def test_a_senior_training_certificate_does_not_exist():
    problems = problems_of(with_change(["certificates", 1, "level"], "senior"))
    assert list(problems) == ["certificates[1].level"]
    assert "junior, intermediate" in problems["certificates[1].level"]


def test_duplicate_certificate_numbers():
    record = with_change(["certificates", 1, "number"], "DTE-AI-2023-000123")
    problems = problems_of(record)
    assert list(problems) == ["certificates[1].number"]
    assert "certificates[0]" in problems["certificates[1].number"]


def test_missing_required_fields():
    record = with_change(["certificates", 0, "number"], KeyError)
    del record["id"]
    problems = problems_of(record)
    assert problems == {"certificates[0].number": "required field missing", "id": "required field missing"}


@pytest.mark.parametrize("path, value, where, says", [
    (["id"], 17, "id", "expected a string"),
    (["id"], "  ", "id", "non-empty"),
    (["certificates", 0, "revoked"], "no", "certificates[0].revoked", "true or false"),
    (["skill_levels", 0, "digital"], 1, "skill_levels[0].digital", "true or false"),
    (["certificates"], {"number": "x"}, "certificates", "expected an array"),
    (["work_periods", 0, "start"], 20221120, "work_periods[0].start", "expected a date"),
])
def test_wrong_types(path, value, where, says):
    problems = problems_of(with_change(path, value))
    assert where in problems and says in problems[where]


@pytest.mark.parametrize("record, says", [
    ([GOOD], "expected an object, got an array"),
    ("A-0001", "expected an object, got a string"),
    (None, "expected an object, got null"),
])
def test_a_record_that_is_not_an_object(record, says):
    assert problems_of(record) == {"$": says}


def test_an_item_that_is_not_an_object():
    problems = problems_of(with_change(["titles", 0], "junior"))
    assert problems == {"titles[0]": "expected an object, got a string"}


def test_unknown_fields_are_named_with_the_allowed_ones():
    problems = problems_of(with_change(["certificates", 0, "levle"], "junior"))
    assert "certificates[0]" in problems
    assert "levle" in problems["certificates[0]"] and "level" in problems["certificates[0]"]


def test_every_problem_of_a_record_is_reported_at_once():
    record = copy.deepcopy(GOOD)
    record["certificates"][0]["level"] = "expert"
    record["certificates"][1]["level"] = "senior"
    record["certificates"][1]["issued_on"] = "2025-02-30"
    record["work_periods"][0]["end"] = "2020-01-01"
    record["skill_levels"][0]["digital"] = "yes"
    with pytest.raises(InputError) as info:
        applicant_from_dict(record)
    assert [p.path for p in info.value.problems] == [
        "certificates[0].level", "certificates[1].issued_on", "certificates[1].level",
        "skill_levels[0].digital", "work_periods[0].end"]
    error = info.value.to_dict()
    assert error["path"] == "certificates[0].level"
    assert len(error["problems"]) == 5
    assert info.value.record_id == "A-0001"


def test_the_model_refuses_the_same_invariants_when_built_in_python():
    with pytest.raises(ValueError, match="senior"):
        Certificate("N-1", "digital_technology_engineer", "training", "senior", "人工智能", dt.date(2024, 1, 1))
    with pytest.raises(ValueError, match="before start"):
        WorkPeriod(dt.date(2024, 1, 1), "skilled", "物联网", end=dt.date(2023, 1, 1))
    assert Applicant("x").certificates == ()


@pytest.mark.parametrize("spelling", ["人工智能", "artificial intelligence", "ARTIFICIAL INTELLIGENCE",
                                      "artificial_intelligence", " 人工智能 "])
def test_the_policy_takes_a_programme_direction_in_any_of_its_spellings(spelling):
    from taian_titles import default_policy, evaluate
    record = with_change(["certificates", 0, "direction"], spelling)
    assert default_policy().prepare(applicant_from_dict(record)).certificates[0].direction == "人工智能"
    assert "人工智能" in evaluate(record).outcome("recognize_junior_title").explanation.zh


def test_a_direction_the_policy_does_not_list_is_bad_input_naming_the_field_and_the_allowed_ones():
    from taian_titles import InputError, evaluate
    with pytest.raises(InputError) as caught:
        evaluate(with_change(["certificates", 1, "direction"], "量子计算"))
    (problem,) = caught.value.problems
    assert problem.path == "certificates[1].direction"
    assert "'量子计算' is not one of 人工智能, 物联网" in problem.message and "密码工程" in problem.message


def test_a_direction_added_to_the_parameter_is_accepted_without_code(tmp_path):
    # The programme's directions are the ruleset's digital_directions parameter, not a list in Python.
    from taian_titles import evaluate, load_policy
    from taian_titles.ruleset import default_ruleset_path
    text = default_ruleset_path().read_text("utf-8").replace('"数据安全", "密码工程"]', '"数据安全", "密码工程", "量子计算"]')
    path = tmp_path / "quantum.toml"
    path.write_text(text, encoding="utf-8")
    record = with_change(["certificates", 0, "direction"], "量子计算")
    decision = evaluate(record, policy=load_policy(path))
    assert "recognize_junior_title" in decision.codes
    assert "量子计算" in decision.outcome("recognize_junior_title").explanation.zh


def test_null_and_empty_values_are_named_in_json_terms():
    problems = problems_of(with_change(["certificates", 0, "level"], None))
    assert problems == {"certificates[0].level": "expected a string, got null; allowed: junior, intermediate, senior"}
    problems = problems_of(with_change(["certificates", 0, "programme"], ""))
    assert problems == {"certificates[0].programme": "must be a non-empty string"}
