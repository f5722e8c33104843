"""The plain-Python reference (benchmarks/reference.py) against the engine, as a differential test.

The reference is a second implementation of the same decisions (docs/decisions.md, as revised
for ruleset 1.1), written as ordinary Python; it takes its parameters, templates and rule order
from the loaded ruleset.  Any difference between the two on any generated applicant or
recommendation list is a failure: one of them does not implement the decisions (read the
decision, then decide which one is wrong).

The reference implements measure nine only, so the engine runs here with the policy of that one
document (``REFERENCE.policy``), not with the shipped default, which composes the crossover
ruleset (鲁人社发〔2020〕16号) with it.

The cases below the property tests are differences the property tests found, each reduced to a
small record, with the decision that settles it.  Each checks first that the reference gives the
reading of the decision, then that the engine agrees; a case fails while the engine gives
another reading.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import taian_titles as tt
from taian_titles import strategies as ts

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import reference  # noqa: E402  (benchmarks/reference.py)

from .test_exchange import GOOD  # noqa: E402

REFERENCE = reference.Reference()
MEASURE9 = REFERENCE.policy  # measure nine alone, as the reference implements it

#: Decision 14: an applicant may carry a name, which the result repeats.
NAMES = st.none() | st.sampled_from(("张伟", "王芳", "a\u2028b", "{cert.number}"))

APPLICANTS = st.builds(lambda a, name: attrs.evolve(a, name=name),
                       st.one_of(ts.applicants_at_edges(max_items=4), ts.applicants(max_items=4)), NAMES)


def _reference(record: Any) -> dict[str, Any]:
    return next(reference.reference_many([record], REFERENCE))


# About 30 ms an example, nearly all of it Hypothesis drawing the applicant: 300 and 100 examples
# of applicants and 100 lists keep this file under 20 s (400 applicants would take it past).
@given(APPLICANTS)
@example(tt.applicant_from_dict(GOOD))
@settings(max_examples=300, deadline=None)
def test_the_engine_and_the_plain_python_reference_give_the_same_result(applicant: tt.Applicant) -> None:
    got = tt.evaluate(applicant, policy=MEASURE9).to_dict()
    expected = _reference(applicant)
    assert got == expected


@given(ts.applicant_dicts(aliases=True, max_items=3))
@settings(max_examples=100, deadline=None)
def test_they_agree_on_exchange_dicts_in_other_spellings_too(record: dict) -> None:
    assert tt.evaluate(record, policy=MEASURE9).to_dict() == _reference(record)


#: Decision 10: lists of each kind, evaluated before and after measure nine applies.
_LIST_DATES = ts.evaluation_dates(in_force=None, near_in_force=True)
LISTS = st.one_of(ts.recommendation_lists(as_of=_LIST_DATES, max_size=20),
                  ts.recommendation_lists(as_of=_LIST_DATES, near_quota=True, max_size=30),
                  ts.recommendation_lists(as_of=_LIST_DATES, unique_ids=False, max_size=8),
                  ts.recommendation_lists(as_of=_LIST_DATES, high_skilled=False, max_size=5))


@given(LISTS)
@settings(max_examples=100, deadline=None)
def test_they_give_the_same_quota_result_for_a_recommendation_list(rec: tt.RecommendationList) -> None:
    assert tt.check_quota(rec, policy=MEASURE9).to_dict() == next(reference.reference_lists([rec], REFERENCE))


def test_a_difference_would_be_seen() -> None:
    # The comparison is of the whole result: a reference that forgot one outcome differs.
    got = tt.evaluate(GOOD, policy=MEASURE9).to_dict()
    expected = _reference(GOOD)
    expected["outcomes"] = expected["outcomes"][1:]
    assert got != expected


def test_the_reference_passes_the_shipped_casebook(monkeypatch: pytest.MonkeyPatch) -> None:
    # The casebook's cases were written from the decisions independently of both: the reference
    # reads them as the casebook's authors did (its recommendation lists still go to the engine).
    from taian_titles import casebook

    class _Result:
        def __init__(self, result: dict[str, Any]) -> None:
            self.result = result

        def to_dict(self) -> dict[str, Any]:
            return self.result

    def evaluate(record: Any, as_of: Any = None, policy: Any = None) -> _Result:
        applicant = tt.applicant_from_dict(record)
        return _Result(REFERENCE.evaluate(REFERENCE.policy.prepare(applicant), as_of))

    monkeypatch.setattr(casebook, "evaluate", evaluate)
    report = casebook.run_casebooks(casebook.shipped_casebooks(), policy=MEASURE9)
    assert report.summary.failed == 0, casebook.report_text(report)
    assert sum(1 for r in report.results if r.case.kind == "applicant") > 40


# --------------------------------------------------------------------------- differences found

AS_OF = "2025-06-01"


def _cert(number: str, kind: str, level: str, direction: str = "人工智能") -> dict[str, Any]:
    return {"number": number, "programme": "digital_technology_engineer", "kind": kind, "level": level,
            "direction": direction, "issued_on": "2024-01-01"}


def _work(start: str, end: str | None = None, kind: str = "professional_technical",
          direction: str = "人工智能") -> dict[str, Any]:
    return {"start": start, "end": end, "kind": kind, "direction": direction}


def _notes(result: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [n for n in result["notes"] if n["rule"] == rule]


def _outcome(result: dict[str, Any], code: str, part: str = "outcomes") -> dict[str, Any]:
    (found,) = [o for o in result[part] if o["code"] == code]
    return found


def _one_exceptional_note_per_title(r: dict[str, Any]) -> None:
    # Decision 11: "a note says that a title at that level is already held" - once, not once
    # for every achievement times every reason the applicant is a digital technical talent.
    assert len(_notes(r, "note-title-held-exceptional")) == 1


def _time_counted_from_f(r: dict[str, Any]) -> None:
    # Decision 6: the counted days laid end to end run from F to L, and the explanation states
    # them "so that a reader can check the sum": 366 + 882 days end on 2025-05-31, so F is
    # 2021-12-31 (not 2020-01-01, the first day worked), and F to L + 1 day, 2025-06-01, is the
    # time counted: 3 years, 5 months and 1 day.
    text = _outcome(r, "apply_intermediate_title")["explanation"]["en"]
    assert "3 years, 5 months and 1 day" in text and "from 2021-12-31 to 2025-05-31" in text


def _period_from_as_of_not_in_basis(r: dict[str, Any]) -> None:
    # Decisions 6 and 7: the evaluation day is not worked, so a period starting on it gives no
    # counted day (its note says it was left out) and makes no one a digital technical talent;
    # it is not in the basis of M9-2d (the 3-year contract alone meets it) or M9-3b.
    for code in ("apply_intermediate_title", "technical_may_apply_skill_level"):
        assert "work_period:1" not in _outcome(r, code)["basis"]
    assert [n["basis"] for n in _notes(r, "note-work-after-as-of")] == [["work_period:1"]]


def _one_skilled_note_per_period(r: dict[str, Any]) -> None:
    # Decision 12: the skilled period is accounted for once; its note names no certificate, so
    # two intermediate training certificates gave it twice, word for word.
    assert [n["basis"] for n in _notes(r, "note-work-skilled")] == [["work_period:0"]]


def _no_not_digital_note_before_work_starts(r: dict[str, Any]) -> None:
    # The rule note-work-not-digital asks `start < ctx.as_of`: a period that has not started
    # is accounted for by note-work-after-as-of (decision 12: "not started by as_of").
    assert _notes(r, "note-work-not-digital") == []
    assert [n["rule"] for n in r["notes"]] == ["note-work-after-as-of", "note-no-clause-applies"]


DIFFERENCES = {
    "a senior title held, two achievements": (
        {"id": "D-1", "as_of": AS_OF, "certificates": [_cert("C1", "professional_level", "junior")],
         "titles": [{"level": "senior", "digital": False}],
         "achievements": [{"description": "甲"}, {"description": "乙"}]},
        _one_exceptional_note_per_title),
    "work with a gap, M9-2d met": (
        {"id": "D-2", "as_of": AS_OF, "certificates": [_cert("C1", "training", "intermediate")],
         "work_periods": [_work("2020-01-01", "2020-12-31"), _work("2023-01-01")]},
        _time_counted_from_f),
    "a period starting on the evaluation date": (
        {"id": "D-3", "as_of": AS_OF, "certificates": [_cert("C1", "training", "intermediate")],
         "work_periods": [_work("2022-06-01", "2025-05-31"), _work(AS_OF)]},
        _period_from_as_of_not_in_basis),
    "skilled work beside two intermediate training certificates": (
        {"id": "D-4", "as_of": AS_OF,
         "certificates": [_cert("C1", "training", "intermediate"),
                          _cert("C2", "training", "intermediate", "大数据")],
         "work_periods": [_work("2023-01-01", kind="skilled")]},
        _one_skilled_note_per_period),
    "non-digital work that starts after the evaluation date": (
        {"id": "D-5", "as_of": AS_OF, "work_periods": [_work("2026-01-01", direction="财务会计")]},
        _no_not_digital_note_before_work_starts),
}


@pytest.mark.parametrize("case", DIFFERENCES, ids=list(DIFFERENCES))
def test_the_reference_reads_the_decision(case: str) -> None:
    record, reading = DIFFERENCES[case]
    reading(_reference(record))


@pytest.mark.parametrize("case", DIFFERENCES, ids=list(DIFFERENCES))
def test_the_engine_agrees_on_the_differences_found(case: str) -> None:
    record, _ = DIFFERENCES[case]
    assert tt.evaluate(record, policy=MEASURE9).to_dict() == _reference(record)
