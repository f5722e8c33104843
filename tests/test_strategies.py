"""The public strategies themselves: valid records, knobs that reach their edges, real fault paths.

An HR system relies on ``taian_titles.strategies`` to generate what its own tests need; these
tests check the promises of its docstrings.  "Reaches its edge" is checked with
:func:`hypothesis.find`: the exact edge value (29 February, the in-force date, a list at
exactly 20%) must turn up within a bounded number of draws.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from fractions import Fraction
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings, strategies as st

import taian_titles as tt
from taian_titles import strategies as ts
from taian_titles import worktime
from taian_titles.model import Applicant, CertificateKind, Level, WorkKind

RULESET = tt.default_ruleset()
IN_FORCE: _dt.date = RULESET.param("in_force_from")
YEARS: int = RULESET.param("required_years")
SHARE = RULESET.param("quota_share")

# find(): stop at the first example that meets the condition (no shrinking), reproducibly.
FIND = settings(max_examples=500, database=None, derandomize=True, phases=[Phase.generate],
                suppress_health_check=list(HealthCheck), deadline=None)


def reach(strategy: st.SearchStrategy[Any], condition: Callable[[Any], bool]) -> Any:
    """An example of ``strategy`` that meets ``condition`` (fails the test if none is found)."""
    return find(strategy, condition, settings=FIND)


Periods = list[tuple[_dt.date, _dt.date | None]]


def m9_2d_work(applicant: Applicant) -> list[Periods]:
    """For each held intermediate training certificate, the professional work in its direction."""
    assert applicant.as_of is not None
    certs = [c for c in applicant.certificates
             if c.is_programme and c.kind is CertificateKind.training and c.level is Level.intermediate
             and not c.revoked]
    assert certs, "the knob promises an intermediate training certificate"
    found = [[(w.start, w.end) for w in applicant.work_periods
              if w.kind is WorkKind.professional_technical and w.direction == cert.direction]
             for cert in certs]
    found = [periods for periods in found if periods]
    assert found, "the knob promises professional work in the certificate's direction"
    return found


def anniversaries(applicant: Applicant) -> list[_dt.date | None]:
    assert applicant.as_of is not None
    return [worktime.anniversary(periods, applicant.as_of, YEARS) for periods in m9_2d_work(applicant)]


# --------------------------------------------------------------------------- valid by construction

@given(ts.applicants_at_edges())
def test_applicants_are_valid_records(applicant: Applicant) -> None:
    assert applicant.as_of is not None and applicant.id.strip()
    numbers = [c.number for c in applicant.certificates]
    assert len(numbers) == len(set(numbers)) and all(n.strip() for n in numbers)
    for c in applicant.certificates:
        assert not (c.kind is CertificateKind.training and c.level is Level.senior)
    for w in applicant.work_periods:
        assert w.end is None or w.end >= w.start
    assert all(a.description.strip() for a in applicant.achievements)
    record = tt.applicant_to_dict(applicant)
    assert tt.applicant_from_dict(json.loads(json.dumps(record))) == applicant


@given(st.one_of(ts.applicant_dicts(), ts.applicant_dicts(aliases=True, near_anniversary=True)))
def test_applicant_dicts_are_json_ready_and_accepted(record: dict[str, Any]) -> None:
    assert json.loads(json.dumps(record)) == record  # only JSON types, nothing lost
    tt.applicant_from_dict(record)


@given(ts.applicant_dicts(aliases=True))
def test_alias_dicts_use_other_spellings_of_the_same_values(record: dict[str, Any]) -> None:
    policy = tt.default_policy()
    canonical = tt.applicant_to_dict(policy.prepare(tt.applicant_from_dict(record)))
    for got, want in zip(record.get("certificates", []), canonical["certificates"]):
        assert tt.Level.parse(got["level"]).code == want["level"]
        assert want["direction"] in policy.directions  # any accepted spelling becomes the policy's name
        assert got["direction"] == want["direction"] or got["direction"] in (
            policy.labels[want["direction"]][1], policy.labels[want["direction"]][1].upper(),
            policy.labels[want["direction"]][1].replace(" ", "_"))


def test_alias_dicts_do_use_chinese_names() -> None:
    reach(ts.applicant_dicts(aliases=True),
          lambda r: any(c["level"] in ("初级", "中级", "高级") for c in r["certificates"]))
    reach(ts.applicant_dicts(aliases=True), lambda r: any("revoked" not in c for c in r["certificates"]))


@given(ts.recommendation_lists(near_quota=True))
def test_recommendation_lists_are_valid(rec: tt.RecommendationList) -> None:
    assert rec.candidates and rec.unit in ts.TAIAN_UNITS
    ids = [c.id for c in rec.candidates]
    assert len(ids) == len(set(ids)) and all(i.strip() for i in ids)
    assert tt.recommendation_list_from_dict(json.loads(json.dumps(tt.recommendation_list_to_dict(rec)))) == rec


def test_lists_with_repeated_ids_on_request() -> None:
    reach(ts.recommendation_lists(unique_ids=False), lambda r: len({c.id for c in r.candidates}) < len(r.candidates))


# --------------------------------------------------------------------------- knobs reach their edges

@given(ts.applicants(near_anniversary=True))
def test_near_anniversary_puts_the_anniversary_within_days_of_as_of(applicant: Applicant) -> None:
    assert applicant.as_of is not None
    assert any(day is not None and abs((day - applicant.as_of).days) <= 4 for day in anniversaries(applicant))


def test_near_anniversary_reaches_both_sides_and_the_day_itself() -> None:
    day = _dt.timedelta(days=1)
    strategy = ts.applicants(near_anniversary=True)
    reach(strategy, lambda a: a.as_of in anniversaries(a))
    reach(strategy, lambda a: a.as_of + day in anniversaries(a))  # met tomorrow
    reach(strategy, lambda a: a.as_of - day in anniversaries(a))  # met yesterday
    reach(strategy, lambda a: any(len(periods) >= 2 for periods in m9_2d_work(a)))  # split, with a gap


def test_leap_day_reaches_29_february() -> None:
    feb29 = lambda d: (d.month, d.day) == (2, 29)  # noqa: E731
    reach(ts.evaluation_dates(leap_day=True), feb29)
    reach(ts.applicants(leap_day=True), lambda a: feb29(a.as_of))
    reach(ts.work_periods(leap_day=True), lambda w: feb29(w.start))
    reach(ts.applicants(leap_day=True, intermediate_training=True),
          lambda a: any(feb29(w.start) for w in a.work_periods))


def test_leap_day_work_meets_its_years_on_28_february() -> None:
    """The decision-6 example: work from 2024-02-29 meets 3 years on 2027-02-28."""
    period = reach(ts.work_periods(leap_day=True, ongoing=True), lambda w: w.start == _dt.date(2024, 2, 29))
    assert worktime.anniversary([(period.start, period.end)], _dt.date(2030, 1, 1), 3) == _dt.date(2027, 2, 28)


@given(ts.applicants(issued_near_as_of=True))
def test_issued_near_as_of_keeps_certificates_on_or_just_after_as_of(applicant: Applicant) -> None:
    assert applicant.as_of is not None
    for c in applicant.certificates:
        assert 0 <= (c.issued_on - applicant.as_of).days <= 3


def test_issued_near_as_of_reaches_the_day_and_the_day_after() -> None:
    strategy = ts.applicants(issued_near_as_of=True)
    reach(strategy, lambda a: any(c.issued_on == a.as_of for c in a.certificates))
    reach(strategy, lambda a: any(c.issued_on == a.as_of + _dt.timedelta(days=1) for c in a.certificates))


@given(ts.evaluation_dates(near_in_force=True), ts.evaluation_dates(in_force=False, near_in_force=True))
def test_evaluation_dates_respect_the_in_force_side(after: _dt.date, before: _dt.date) -> None:
    assert after >= IN_FORCE > before


def test_near_in_force_reaches_the_in_force_date_and_the_day_before() -> None:
    reach(ts.evaluation_dates(near_in_force=True), lambda d: d == IN_FORCE)
    reach(ts.evaluation_dates(in_force=None, near_in_force=True), lambda d: d == IN_FORCE - _dt.timedelta(days=1))
    reach(ts.applicants(near_in_force=True), lambda a: a.as_of == IN_FORCE)


@given(ts.recommendation_lists(near_quota=True))
def test_near_quota_lists_are_within_one_of_the_threshold(rec: tt.RecommendationList) -> None:
    total = len(rec.candidates)
    digital = sum(c.digital for c in rec.candidates)
    needed = ts.quota_threshold(total)
    assert needed - 1 <= digital <= needed + 1 or digital == total


def test_near_quota_reaches_exactly_20_percent_and_either_side() -> None:
    def counts(rec: tt.RecommendationList) -> tuple[int, int]:
        return len(rec.candidates), sum(c.digital for c in rec.candidates)

    strategy = ts.recommendation_lists(near_quota=True)
    total, digital = counts(reach(strategy, lambda r: counts(r)[1] * SHARE.denominator
                                  == counts(r)[0] * SHARE.numerator and counts(r)[0] > 5))
    assert Fraction(digital, total) == SHARE  # exactly at the boundary, e.g. 3 of 15
    reach(strategy, lambda r: counts(r)[1] == ts.quota_threshold(counts(r)[0]) - 1)  # one short
    reach(strategy, lambda r: counts(r)[1] == ts.quota_threshold(counts(r)[0]) + 1)  # one over


def test_quota_threshold_is_exact() -> None:
    assert [ts.quota_threshold(n) for n in (1, 4, 5, 6, 14, 15, 16)] == [1, 1, 1, 2, 3, 3, 4]


# --------------------------------------------------------------------------- invalid records

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def resolve(record: Any, path: str) -> tuple[bool, Any]:
    """Walk ``path`` into ``record``: (whether the last step exists, the parent it is looked up in)."""
    if path == "$":
        return True, None
    steps = [int(i) if i else name for name, i in _TOKEN.findall(path)]
    node = record
    for step in steps[:-1]:
        assert isinstance(step, int) and isinstance(node, list) and step < len(node) or \
            isinstance(step, str) and isinstance(node, dict) and step in node, f"{path} leaves the record at {step!r}"
        node = node[step]
    last = steps[-1]
    if isinstance(last, int):
        return isinstance(node, list) and last < len(node), node
    return isinstance(node, dict) and last in node, node


@given(ts.invalid_applicant_dicts())
def test_invalid_applicants_carry_a_real_path(case: tuple[dict[str, Any], str]) -> None:
    record, path = case
    exists, parent = resolve(record, path)
    if not exists:  # a required field left out: its record is there, the field is not
        assert isinstance(parent, dict) and path.rsplit(".", 1)[-1] not in parent


@given(ts.invalid_recommendation_list_dicts())
def test_invalid_lists_carry_a_real_path(case: tuple[dict[str, Any], str]) -> None:
    record, path = case
    exists, parent = resolve(record, path)
    assert exists or isinstance(parent, dict)


def _is_date(value: Any) -> bool:
    try:
        _dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) is not None


def fault_kind(record: dict[str, Any], path: str) -> str:
    """What kind of fault ``(record, path)`` is, read off the record itself."""
    exists, parent = resolve(record, path)
    if path == "$" or re.fullmatch(r"[a-z_]+\[\d+\]", path):
        return "unknown field or item not an object"
    if not exists:
        return "required field missing"
    value = parent[path.rsplit(".", 1)[-1]] if "." in path else record.get(path)
    if path in ("certificates", "work_periods", "skill_levels", "titles", "achievements"):
        return "list not an array"
    if re.fullmatch(r"certificates\[\d+\]\.level", path) and parent.get("kind") == "training" \
            and value == "senior":
        return "senior training certificate"
    if re.fullmatch(r"certificates\[\d+\]\.number", path) and isinstance(value, str) and value.strip() \
            and [c.get("number") for c in record["certificates"] if isinstance(c, dict)].count(value) > 1:
        return "duplicate number"
    if re.fullmatch(r"work_periods\[\d+\]\.end", path) and _is_date(value) and value < parent.get("start", ""):
        return "end before start"
    if path.endswith((".kind", ".level", ".direction")):
        return "enum value not allowed"
    if path.endswith((".issued_on", ".start", ".end", ".date")) or path == "as_of":
        return "bad date"
    if path.endswith((".digital", ".revoked")):
        return "not a boolean"
    if path == "id" or path.endswith((".number", ".description", ".programme", ".employer", ".occupation",
                                      ".speciality")):
        return "blank or not a string"
    return "other"


FAULT_KIND = {
    "missing_id": "required field missing", "empty_id": "blank or not a string", "bad_as_of": "bad date",
    "unknown_top_field": "unknown field or item not an object", "list_not_array": "list not an array",
    "missing_field": "required field missing", "unknown_item_field": "unknown field or item not an object",
    "item_not_object": "unknown field or item not an object", "bad_date": "bad date",
    "wrong_type_str": "blank or not a string", "bad_enum": "enum value not allowed",
    "wrong_type_bool": "not a boolean", "blank_identity": "blank or not a string",
    "senior_training": "senior training certificate", "duplicate_number": "duplicate number",
    "end_before_start": "end before start",
}


def test_every_fault_is_listed() -> None:
    assert set(ts.APPLICANT_FAULTS) == set(FAULT_KIND)


@pytest.mark.parametrize("fault", ts.APPLICANT_FAULTS)
def test_each_fault_is_the_fault_it_names(fault: str) -> None:
    @settings(FIND, max_examples=5)
    @given(ts.invalid_applicant_dicts(faults=[fault]))
    def check(case: tuple[dict[str, Any], str]) -> None:
        assert fault_kind(*case) == FAULT_KIND[fault]

    check()


def test_unknown_faults_are_refused() -> None:
    with pytest.raises(ValueError, match="faults must be some of"):
        find(ts.invalid_applicant_dicts(faults=["typo"]), lambda c: True, settings=FIND)


def test_a_duplicate_number_is_reported_at_the_later_certificate() -> None:
    record, path = reach(ts.invalid_applicant_dicts(), lambda case: case[1].endswith(".number") and len(
        {c.get("number") for c in case[0]["certificates"] if isinstance(c, dict)}) < len(case[0]["certificates"]))
    index = int(re.search(r"\[(\d+)\]", path).group(1))  # type: ignore[union-attr]
    number = record["certificates"][index]["number"]
    assert any(c.get("number") == number for c in record["certificates"][:index])


# --------------------------------------------------------------------------- arguments

def test_knobs_that_need_an_evaluation_date_say_so() -> None:
    with pytest.raises(ValueError, match="needs as_of"):
        find(ts.certificates(issued="held"), lambda c: True, settings=FIND)
    with pytest.raises(ValueError, match="needs as_of"):
        find(ts.work_periods(near_anniversary=True), lambda w: True, settings=FIND)
    with pytest.raises(ValueError, match="no evaluation date"):
        ts.evaluation_dates(in_force=False, min_value=IN_FORCE)


def test_strategies_follow_the_ruleset_given() -> None:
    """A ruleset with another in-force date moves the in-force edge with it."""
    import attrs

    params = dict(RULESET.parameters)
    params["in_force_from"] = {**params["in_force_from"], "value": _dt.date(2026, 1, 1)}
    moved = attrs.evolve(RULESET, parameters=params)
    reach(ts.evaluation_dates(ruleset=moved, near_in_force=True), lambda d: d == _dt.date(2026, 1, 1))
    assert find(ts.evaluation_dates(ruleset=moved), lambda d: True, settings=FIND) >= _dt.date(2026, 1, 1)


# --------------------------------------------------------------------------- the crossover's routes

ROUTES = tuple(ts.CROSSOVER_ROUTES)


def route_level(applicant: Applicant, route: str) -> tt.SkillLevelRecord:
    """The one skill level of ``route`` the knob promises, dated on or before ``as_of``."""
    levels = ts.crossover_route_levels(route)
    (held,) = [s for s in applicant.skill_levels if s.level in levels]
    assert held.issued_on is not None and applicant.as_of is not None and held.issued_on <= applicant.as_of
    return held


def route_anniversary(applicant: Applicant, route: str) -> _dt.date | None:
    """The day the route's years are met: the skilled work counted from the level's date, as
    decision 6 counts it (worked out here, not by the library's facts)."""
    assert applicant.as_of is not None
    since = route_level(applicant, route).issued_on
    assert since is not None
    counted = [(max(w.start, since), w.end) for w in applicant.work_periods
               if w.kind is WorkKind.skilled and (w.end is None or w.end >= since)]
    return worktime.anniversary(counted, applicant.as_of, ts.crossover_route_years(route))


def test_crossover_routes_follow_the_crossover_document() -> None:
    assert [ts.crossover_route_years(r) for r in ROUTES] == [2, 3, 4]
    assert [tuple(s.code for s in ts.crossover_route_levels(r)) for r in ROUTES] == [
        ("senior_worker",), ("technician",), ("senior_technician", "special_technician", "chief_technician")]
    with pytest.raises(ValueError, match="crossover_route must be one of"):
        find(ts.applicants(crossover_route="doctor"), lambda a: True, settings=FIND)


@pytest.mark.parametrize("route", ROUTES)
def test_crossover_route_puts_the_anniversary_within_days_of_as_of(route: str) -> None:
    @settings(FIND, max_examples=30)
    @given(ts.applicants(crossover_route=route))
    def check(applicant: Applicant) -> None:
        day = route_anniversary(applicant, route)
        assert day is not None and abs((day - applicant.as_of).days) <= 4  # type: ignore[operator]
        code, _, grade = ts.CROSSOVER_ROUTES[route]
        assert all(t.level.grade < grade for t in applicant.titles)
        assert applicant.appraisals_passed is not False and applicant.continuing_education_done is not False

    check()


@pytest.mark.parametrize("route", ROUTES)
def test_crossover_route_reaches_the_anniversary_and_the_days_either_side(route: str) -> None:
    day = _dt.timedelta(days=1)
    strategy = ts.applicants(crossover_route=route)
    reach(strategy, lambda a: route_anniversary(a, route) == a.as_of)
    reach(strategy, lambda a: route_anniversary(a, route) == a.as_of + day)  # met tomorrow
    reach(strategy, lambda a: route_anniversary(a, route) == a.as_of - day)  # met yesterday
    # work begun before the level's date, and work split by a gap
    reach(strategy, lambda a: any(w.start < route_level(a, route).issued_on for w in a.work_periods
                                  if w.kind is WorkKind.skilled))
    reach(strategy, lambda a: sum(w.kind is WorkKind.skilled for w in a.work_periods) >= 2)


@pytest.mark.parametrize("route", ROUTES)
def test_crossover_route_is_met_on_the_anniversary_and_not_the_day_before(route: str) -> None:
    """The edge itself, through the library: the example the strategy reaches with the anniversary
    on ``as_of`` has the route met; the same record a day earlier has it not yet met, with that
    day as ``eligible_on``."""
    code = ts.CROSSOVER_ROUTES[route][0]
    applicant = reach(ts.applicants(crossover_route=route, held_only=True),
                      lambda a: route_anniversary(a, route) == a.as_of)
    assert applicant.as_of is not None
    assert code in tt.evaluate(applicant).codes
    before = tt.evaluate(applicant, as_of=applicant.as_of - _dt.timedelta(days=1))
    assert code not in before.codes
    assert [n.eligible_on for n in before.not_met if n.code == code] == [applicant.as_of]
