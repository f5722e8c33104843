"""Fields that travel: a record's ``meta`` comes back unchanged in its answer, error entries
included; leniency keeps unknown top-level fields in ``meta``; the exchange format's version;
the default evaluation date is today in Asia/Shanghai."""

from __future__ import annotations

import datetime as dt
import json

import pytest

import taian_titles as tt
from taian_titles.api import BatchError, CHINA_TIME, evaluate_record, today
from taian_titles.cli import main
from taian_titles.exchange import EXCHANGE_VERSION, EXCHANGE_VERSIONS

META = {"employee_no": "E-0042", "county": "泰山区", "nested": {"list": [1, 2.5, None, True], "s": "x"}}
GOOD = {"id": "A-1", "as_of": "2025-06-01",
        "certificates": [{"number": "N-1", "programme": "digital_technology_engineer", "kind": "professional_level",
                          "level": "junior", "direction": "人工智能", "issued_on": "2023-10-20"}]}
LIST = {"unit": "泰山区", "as_of": "2025-09-01",
        "candidates": [{"id": "C-1", "skill_level": "technician", "digital": True}]}


def test_meta_comes_back_unchanged_in_a_decision_and_changes_nothing_else():
    plain = tt.evaluate(GOOD).to_dict()
    with_meta = tt.evaluate({**GOOD, "meta": META}).to_dict()
    assert with_meta["meta"] == META
    assert {k: v for k, v in with_meta.items() if k != "meta"} == plain
    assert "meta" not in plain and plain["exchange_version"] == EXCHANGE_VERSION


def test_meta_comes_back_in_an_error_entry_and_in_a_quota_result_and_its_error():
    bad = evaluate_record(0, {**GOOD, "certificates": "x", "meta": META}, as_of=None)
    assert isinstance(bad, BatchError) and bad.to_dict()["meta"] == META
    assert tt.check_quota({**LIST, "meta": META}).to_dict()["meta"] == META
    report = tt.city_report([{**LIST, "meta": {"n": 1}}, {"unit": "岱岳区", "candidates": [], "meta": {"n": 2}}])
    assert [r.to_dict()["meta"] for r in report.results] == [{"n": 1}, {"n": 2}]
    assert "error" in report.results[1].to_dict()


def test_meta_must_be_an_object_and_is_kept_through_the_exchange_dicts():
    with pytest.raises(tt.InputError) as caught:
        tt.evaluate({**GOOD, "meta": [1]})
    assert [(p.path, p.code) for p in caught.value.problems] == [("meta", "wrong_type")]
    applicant = tt.applicant_from_dict({**GOOD, "meta": META})
    assert tt.applicant_to_dict(applicant)["meta"] == META
    assert "meta" not in tt.applicant_to_dict(tt.applicant_from_dict(GOOD))
    entry = evaluate_record(0, {**GOOD, "meta": [1]}, as_of=None).to_dict()
    assert "meta" not in entry and entry["error"]["path"] == "meta"


def test_unknown_top_level_fields_are_bad_input_unless_the_caller_is_lenient():
    record = {**GOOD, "county": "泰山区", "employee_no": "E-1", "meta": {"employee_no": "E-own"}}
    with pytest.raises(tt.InputError) as caught:
        tt.evaluate(record)
    assert caught.value.problems[0].code == "unknown_field"
    assert "exchange_version" in caught.value.problems[0].allowed
    decision = tt.evaluate(record, lenient=True)
    assert decision.meta == {"county": "泰山区", "employee_no": "E-own"}  # the record's own meta wins
    assert decision.codes == tt.evaluate(GOOD).codes
    # Lenient keeps the caller's fields in the error entry of a bad record too.
    bad = evaluate_record(0, {**record, "as_of": "2025-02-30"}, as_of=None, lenient=True).to_dict()
    assert bad["meta"] == {"county": "泰山区", "employee_no": "E-own"}
    assert [p["code"] for p in bad["error"]["problems"]] == ["impossible_date"]


@pytest.mark.parametrize("misspelt", ["certificate", "Certificates", "workPeriods", "title", "achievement"])
def test_leniency_does_not_hide_a_misspelt_field(misspelt):
    with pytest.raises(tt.InputError) as caught:
        tt.evaluate({**GOOD, misspelt: []}, lenient=True)
    assert [p.code for p in caught.value.problems] == ["unknown_field"]


def test_leniency_applies_to_lists_and_not_inside_items():
    result = tt.check_quota({**LIST, "batch": 7}, lenient=True)
    assert result.meta == {"batch": 7}
    with pytest.raises(tt.InputError) as caught:
        tt.evaluate({**GOOD, "certificates": [{**GOOD["certificates"][0], "colour": "red"}]}, lenient=True)
    assert caught.value.problems[0].path == "certificates[0]"


def test_a_record_may_name_the_exchange_version_it_writes():
    for version in EXCHANGE_VERSIONS:
        assert tt.evaluate({**GOOD, "exchange_version": version}).to_dict() == tt.evaluate(GOOD).to_dict()
    with pytest.raises(tt.InputError) as caught:
        tt.evaluate({**GOOD, "exchange_version": "2.0"})
    (p,) = caught.value.problems
    assert (p.path, p.code, p.allowed) == ("exchange_version", "unknown_value", EXCHANGE_VERSIONS)
    with pytest.raises(tt.InputError) as caught:
        tt.check_quota({**LIST, "exchange_version": 1.1})
    assert caught.value.problems[0].code == "wrong_type"


def test_the_default_evaluation_date_is_today_in_asia_shanghai():
    before = dt.datetime.now(CHINA_TIME).date()
    decision = tt.evaluate({"id": "A-1"})
    after = dt.datetime.now(CHINA_TIME).date()
    assert decision.as_of in (before, after) and today() in (before, after)
    assert CHINA_TIME.utcoffset(None) == dt.timedelta(hours=8)


def test_the_command_carries_meta_and_takes_lenient(capsys, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in (
        {**GOOD, "meta": META}, {**GOOD, "id": "A-2", "county": "岱岳区"}, {"id": "A-3", "meta": META, "as_of": "x"},
    )) + "\n", encoding="utf-8")
    assert main(["evaluate", str(source), "--no-progress"]) == 1
    strict = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert strict[0]["meta"] == META and "error" in strict[1] and strict[2]["meta"] == META
    assert strict[2]["error"]["line"] == 3
    assert main(["evaluate", str(source), "--no-progress", "--lenient"]) == 1
    lenient = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lenient[1]["meta"] == {"county": "岱岳区"} and "outcomes" in lenient[1]
    lists = tmp_path / "lists.json"
    lists.write_text(json.dumps([{**LIST, "meta": META}, {**LIST, "unit": "x", "zone": 3}], ensure_ascii=False),
                     encoding="utf-8")
    assert main(["quota", str(lists), "--lenient"]) == 0
    answers = json.loads(capsys.readouterr().out)
    assert [a["meta"] for a in answers] == [META, {"zone": 3}]
