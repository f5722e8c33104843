"""The plain-Python reference (benchmarks/reference.py) against the engine, as a differential test.

The reference is a second implementation of the same decisions, written as ordinary Python
from the ruleset's rules; it takes its parameters, templates and rule order from the loaded
ruleset.  Any difference between the two on any generated applicant is a failure: one of them
does not implement the ruleset file (read the rule, then decide which one is wrong).
"""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

import taian_titles as tt
from taian_titles import strategies as ts

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import reference  # noqa: E402  (benchmarks/reference.py)

from .test_exchange import GOOD  # noqa: E402

REFERENCE = reference.Reference()

APPLICANTS = st.one_of(ts.applicants_at_edges(max_items=4), ts.applicants(max_items=4))


@given(APPLICANTS)
@example(tt.applicant_from_dict(GOOD))
@settings(max_examples=300, deadline=None)
def test_the_engine_and_the_plain_python_reference_give_the_same_result(applicant: tt.Applicant) -> None:
    got = tt.evaluate(applicant).to_dict()
    expected = next(reference.reference_many([applicant], REFERENCE))
    assert got == expected


@given(ts.applicant_dicts(aliases=True, max_items=3))
@settings(max_examples=100, deadline=None)
def test_they_agree_on_exchange_dicts_in_other_spellings_too(record: dict) -> None:
    assert tt.evaluate(record).to_dict() == next(reference.reference_many([record], REFERENCE))


def test_a_difference_would_be_seen() -> None:
    # The comparison is of the whole result: a reference that forgot one outcome differs.
    got = tt.evaluate(GOOD).to_dict()
    expected = next(reference.reference_many([GOOD], REFERENCE))
    expected["outcomes"] = expected["outcomes"][1:]
    assert got != expected
