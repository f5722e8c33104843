"""What a typed caller of the public API writes; `tests/test_typing.py` checks it with mypy --strict.

Not run by pytest (no test_ prefix): it is read by mypy against the installed package, so every
public name must have a precise type (``assert_type`` fails if one is ``Any``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterator, assert_type

import taian_titles as tt
from taian_titles.render import render_decision
from taian_titles.schema import NAMES, openapi, schema

record: dict[str, Any] = {"id": "A-1", "as_of": "2025-06-01", "meta": {"employee_no": "E-1"}}

decision = tt.evaluate(record, as_of=dt.date(2025, 6, 1), lenient=True)
assert_type(decision, tt.Decision)
assert_type(decision.codes, tuple[str, ...])
assert_type(decision.outcomes, tuple[tt.Outcome, ...])
assert_type(decision.highest_recognized_title, tt.Level | None)
assert_type(decision.to_dict(), dict[str, Any])
first = decision.outcome("recognize_junior_title")
if first is not None:
    assert_type(first.explanation.zh, str)
    assert_type(first.basis, tuple[str, ...])
for not_met in decision.not_met:
    assert_type(not_met.eligible_on, dt.date | None)

answers = tt.evaluate_many([record], as_of="2025-06-01")
assert_type(answers, Iterator[tt.Decision | tt.BatchError])
for answer in answers:
    if isinstance(answer, tt.BatchError):
        assert_type(answer.id, str | None)
        error = answer.error
        if isinstance(error, tt.InputError):
            for problem in error.problems:
                assert_type(problem, tt.Problem)
                assert_type(problem.code, str)
                assert_type(problem.allowed, tuple[str, ...])
        else:
            assert_type(error, tt.InternalError)
    else:
        assert_type(answer, tt.Decision)

policy = tt.load_policy(tt.default_ruleset().source)
assert_type(policy, tt.Policy)
assert_type(tt.default_policy(), tt.Policy)

result = tt.check_quota({"unit": "泰山区", "candidates": []}, policy=policy)
assert_type(result, tt.QuotaResult)
assert_type(result.meets_quota, bool | None)
assert_type(result.share_text, str | None)
report = tt.city_report([{"unit": "泰山区", "candidates": []}])
assert_type(report, tt.CityReport)
assert_type(report.summary(), dict[str, int])

applicant = tt.applicant_from_dict(record)
assert_type(applicant, tt.Applicant)
assert_type(tt.applicant_to_dict(applicant), dict[str, Any])
assert_type(tt.Level.parse("中级"), tt.Level)

assert_type(render_decision(decision, "html", "zh"), str)
assert_type(schema("decision"), dict[str, Any])
assert_type(openapi(), dict[str, Any])
assert_type(NAMES, dict[str, tuple[str, str]])
