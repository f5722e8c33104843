"""Tests for decision 6 as revised for ruleset 1.1 (accumulated working time) — taian_titles.worktime.

The first half walks through the worked examples of the policy spec one by one;
the second half states general properties and lets hypothesis look for
counter-examples.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Optional

import pytest
from hypothesis import given, strategies as st

from taian_titles.worktime import (
    Duration,
    Span,
    accumulated,
    add_months,
    add_years,
    anniversary,
    covered_days,
    eligible_on,
    last_covered_day,
    merge,
    shortfall,
    shortfall_days,
    virtual_start,
    years_met,
)

D = date
DAY = timedelta(days=1)


# ---------------------------------------------------------------------------
# Calendar arithmetic


def test_anniversary_is_the_same_day_or_the_last_day_of_the_month() -> None:
    assert add_years(D(2022, 3, 1), 3) == D(2025, 3, 1)
    assert add_years(D(2024, 2, 29), 3) == D(2027, 2, 28)
    assert add_years(D(2024, 2, 29), 4) == D(2028, 2, 29)
    assert add_months(D(2024, 1, 31), 1) == D(2024, 2, 29)
    assert add_months(D(2023, 1, 31), 1) == D(2023, 2, 28)
    assert add_months(D(2023, 8, 31), 1) == D(2023, 9, 30)
    assert add_months(D(2023, 12, 15), 1) == D(2024, 1, 15)


# ---------------------------------------------------------------------------
# Worked examples of decision 6


def test_work_from_2022_03_01_meets_three_years_on_2025_03_01_not_before() -> None:
    work = [(D(2022, 3, 1), None)]
    assert not years_met(work, D(2025, 2, 28), 3)
    assert years_met(work, D(2025, 3, 1), 3)
    assert anniversary(work, D(2025, 3, 1), 3) == D(2025, 3, 1)
    # the evaluation day is not yet worked: on 2025-03-01 the last counted day is 2025-02-28
    assert last_covered_day(work, D(2025, 3, 1)) == D(2025, 2, 28)
    assert accumulated(work, D(2025, 3, 1)) == Duration(3, 0, 0)
    assert accumulated(work, D(2025, 2, 28)) == Duration(2, 11, 27)
    assert shortfall(work, D(2025, 2, 28), 3) == Duration(0, 0, 1)
    assert shortfall_days(work, D(2025, 2, 28), 3) == 1
    assert shortfall(work, D(2025, 3, 1), 3) is None and shortfall_days(work, D(2025, 3, 1), 3) is None
    assert eligible_on(work, D(2025, 2, 1), 3) == D(2025, 3, 1)


def test_work_from_29_february_meets_three_years_on_28_february() -> None:
    work = [(D(2024, 2, 29), None)]
    assert not years_met(work, D(2027, 2, 27), 3)
    assert years_met(work, D(2027, 2, 28), 3)
    assert accumulated(work, D(2027, 2, 28)) == Duration(3, 0, 0)
    assert accumulated(work, D(2027, 2, 27)).years == 2


@pytest.mark.parametrize("as_of", [D(2026, 1, 1), D(2026, 6, 1), D(2030, 1, 1)])
def test_2023_01_01_to_2025_12_31_meets_three_years_whatever_as_of_after_it(as_of: date) -> None:
    work = [(D(2023, 1, 1), D(2025, 12, 31))]
    assert years_met(work, as_of, 3)
    assert shortfall(work, as_of, 3) is None
    assert accumulated(work, as_of) == Duration(3, 0, 0)
    assert virtual_start(work, as_of) == D(2023, 1, 1)
    assert anniversary(work, as_of, 3) == D(2026, 1, 1)


def test_a_finished_three_year_contract_is_three_full_years() -> None:
    # 2022-06-01 to 2025-05-31: how HR offices count a 3-year contract.
    work = [(D(2022, 6, 1), D(2025, 5, 31))]
    assert years_met(work, D(2025, 6, 1), 3) and accumulated(work, D(2025, 6, 1)) == Duration(3, 0, 0)
    # on its last day that day is not yet worked: one day short, met the next day
    assert not years_met(work, D(2025, 5, 31), 3)
    assert shortfall(work, D(2025, 5, 31), 3) == Duration(0, 0, 1)
    assert eligible_on(work, D(2025, 5, 31), 3) == D(2025, 6, 1)


def test_one_day_short_2023_01_02_to_2025_12_31() -> None:
    work = [(D(2023, 1, 2), D(2025, 12, 31))]
    assert not years_met(work, D(2030, 1, 1), 3)
    assert shortfall(work, D(2030, 1, 1), 3) == Duration(0, 0, 1)
    assert shortfall_days(work, D(2030, 1, 1), 3) == 1
    assert accumulated(work, D(2030, 1, 1)) == Duration(2, 11, 30)


def test_overlapping_and_adjacent_periods_merge_so_no_day_counts_twice() -> None:
    work = [
        (D(2020, 1, 1), D(2020, 6, 30)),
        (D(2020, 3, 1), D(2020, 12, 31)),  # overlaps the first
        (D(2021, 1, 1), D(2021, 3, 31)),  # adjacent: starts the day after
        (D(2021, 6, 1), D(2021, 6, 30)),  # separate (gap in April-May)
    ]
    assert merge(work, D(2022, 1, 1)) == (
        Span(D(2020, 1, 1), D(2021, 3, 31)),
        Span(D(2021, 6, 1), D(2021, 6, 30)),
    )
    assert covered_days(work, D(2022, 1, 1)) == 366 + 90 + 30


def test_a_gap_moves_the_virtual_start_later() -> None:
    # Two years of work, a one-year break, then ongoing work.
    work = [(D(2018, 1, 1), D(2019, 12, 31)), (D(2021, 1, 1), None)]
    as_of = D(2022, 1, 1)
    assert last_covered_day(work, as_of) == as_of - DAY
    # Without the break the first day would be 2018-01-01; the 366 days of
    # 2020 that were not worked push it 366 days later.
    assert virtual_start(work, as_of) == D(2018, 1, 1) + timedelta(days=366)
    assert virtual_start(work, as_of) == D(2019, 1, 2)
    assert not years_met(work, D(2022, 1, 1), 3)
    assert years_met(work, D(2022, 1, 2), 3)
    assert eligible_on(work, D(2021, 6, 1), 3) == D(2022, 1, 2)


def test_a_period_starting_on_or_after_as_of_is_not_yet_counted() -> None:
    work = [(D(2020, 1, 1), D(2020, 12, 31)), (D(2025, 1, 1), None)]
    for as_of in (D(2024, 6, 1), D(2025, 1, 1)):
        assert merge(work, as_of) == (Span(D(2020, 1, 1), D(2020, 12, 31)),)
        assert covered_days(work, as_of) == 366
    assert covered_days(work, D(2025, 1, 2)) == 367


def test_a_future_end_is_clipped_to_the_day_before_as_of() -> None:
    work = [(D(2023, 1, 1), D(2030, 12, 31))]
    as_of = D(2024, 1, 1)
    assert merge(work, as_of) == (Span(D(2023, 1, 1), D(2023, 12, 31)),)
    assert last_covered_day(work, as_of) == as_of - DAY
    assert accumulated(work, as_of) == Duration(1, 0, 0)


def test_eligible_on_for_ongoing_work() -> None:
    work = [(D(2022, 11, 20), None)]
    assert eligible_on(work, D(2025, 6, 1), 3) == D(2025, 11, 20)


def test_eligible_on_is_none_when_nothing_ongoing_and_not_met() -> None:
    work = [(D(2023, 1, 2), D(2025, 12, 31))]
    assert eligible_on(work, D(2026, 6, 1), 3) is None
    assert eligible_on(work, D(2024, 6, 1), 3) is None
    # a period that does reach three years, as recorded, is met the day after its end
    assert eligible_on([(D(2023, 1, 1), D(2025, 12, 31))], D(2024, 6, 1), 3) == D(2026, 1, 1)


def test_eligible_on_is_none_when_already_met() -> None:
    work = [(D(2018, 1, 1), None)]
    assert years_met(work, D(2025, 1, 1), 3)
    assert eligible_on(work, D(2025, 1, 1), 3) is None


def test_eligible_on_for_a_period_starting_in_the_future() -> None:
    # One year done; new job recorded to start in 2026 and ongoing.
    work = [(D(2020, 1, 1), D(2020, 12, 31)), (D(2026, 3, 1), None)]
    as_of = D(2025, 6, 1)
    assert not years_met(work, as_of, 3)
    # 366 days are already banked, so once work resumes on 2026-03-01 the first day is
    # 2026-03-01 - 366 days = 2025-02-28, whose third anniversary is 2028-02-28.
    assert virtual_start(work, D(2026, 3, 2)) == D(2025, 2, 28)
    assert eligible_on(work, as_of, 3) == D(2028, 2, 28)
    assert not years_met(work, D(2028, 2, 27), 3)
    assert years_met(work, D(2028, 2, 28), 3)


def test_eligible_on_with_a_future_end_that_comes_too_soon() -> None:
    work = [(D(2024, 1, 1), D(2026, 6, 30))]
    assert eligible_on(work, D(2025, 1, 1), 3) is None
    assert eligible_on(work, D(2025, 1, 1), 2) == D(2026, 1, 1)
    assert eligible_on([(D(2024, 1, 1), D(2025, 12, 31))], D(2025, 1, 1), 2) == D(2026, 1, 1)


def test_no_work_at_all() -> None:
    assert merge([], D(2025, 1, 1)) == ()
    assert covered_days([], D(2025, 1, 1)) == 0
    assert virtual_start([], D(2025, 1, 1)) is None
    assert last_covered_day([], D(2025, 1, 1)) is None
    assert anniversary([], D(2025, 1, 1), 3) is None
    assert not years_met([], D(2025, 1, 1), 3)
    assert eligible_on([], D(2025, 1, 1), 3) is None
    assert accumulated([], D(2025, 1, 1)) == Duration(0, 0, 0)
    assert shortfall([], D(2025, 1, 1), 3) == Duration(3, 0, 0)


def test_duration_wording() -> None:
    assert Duration(2, 8, 11).zh() == "2年8个月11天"
    assert Duration(0, 0, 5).zh() == "5天"
    assert Duration(0, 5, 19).zh() == "5个月19天"
    assert Duration(3, 0, 0).zh() == "3年"
    assert Duration(0, 0, 0).zh() == "0天"
    assert Duration(0, 5, 19).en() == "5 months and 19 days"
    assert Duration(1, 0, 0).en() == "1 year"
    assert Duration(2, 8, 11).en() == "2 years, 8 months and 11 days"
    assert Duration(1, 1, 1).en() == "1 year, 1 month and 1 day"
    assert Duration(0, 0, 0).en() == "0 days"


def test_a_period_ending_before_it_starts_is_rejected() -> None:
    bad = [(D(2024, 5, 1), D(2024, 4, 30))]
    with pytest.raises(ValueError):
        merge(bad, D(2025, 1, 1))
    with pytest.raises(ValueError):
        years_met(bad, D(2025, 1, 1), 3)
    with pytest.raises(ValueError):
        Span(D(2024, 5, 1), D(2024, 4, 30))


def test_span_days_counts_both_ends() -> None:
    assert Span(D(2024, 1, 1), D(2024, 1, 1)).days == 1
    assert Span(D(2024, 1, 1), D(2024, 12, 31)).days == 366


# ---------------------------------------------------------------------------
# Properties

LOW, HIGH = D(2018, 1, 1), D(2030, 12, 31)
dates = st.dates(min_value=LOW, max_value=HIGH)
years_n = st.integers(min_value=1, max_value=5)


@st.composite
def periods(draw: st.DrawFn) -> tuple[date, Optional[date]]:
    start = draw(dates)
    if draw(st.booleans()):
        return (start, None)
    length = draw(st.integers(min_value=0, max_value=(HIGH - start).days))
    return (start, start + timedelta(days=length))


period_lists = st.lists(periods(), max_size=6)


def _brute_force_days(work: list[tuple[date, Optional[date]]], as_of: date) -> set[date]:
    """Every day worked before the evaluation day."""
    days: set[date] = set()
    last = as_of - DAY
    for start, end in work:
        stop = min(last, end) if end is not None else last
        d = start
        while d <= stop:
            days.add(d)
            d += DAY
    return days


@given(period_lists, dates, st.randoms(use_true_random=False))
def test_merge_is_order_independent_and_idempotent(work, as_of, rnd) -> None:
    merged = merge(work, as_of)
    shuffled = list(work)
    rnd.shuffle(shuffled)
    assert merge(shuffled, as_of) == merged
    assert merge([(s.start, s.end) for s in merged], as_of) == merged
    # sorted, disjoint and not adjacent
    for left, right in zip(merged, merged[1:]):
        assert (right.start - left.end).days >= 2
    assert all(s.end < as_of for s in merged)


@given(period_lists, periods(), dates)
def test_adding_a_period_never_reduces_covered_days(work, extra, as_of) -> None:
    assert covered_days(work + [extra], as_of) >= covered_days(work, as_of)


# Small ranges so that the brute force stays cheap.
small_dates = st.dates(min_value=D(2020, 1, 1), max_value=D(2020, 12, 31))


@st.composite
def small_periods(draw: st.DrawFn) -> tuple[date, Optional[date]]:
    start = draw(small_dates)
    if draw(st.booleans()):
        return (start, None)
    return (start, start + timedelta(days=draw(st.integers(0, 120))))


@given(st.lists(small_periods(), max_size=6), small_dates)
def test_covered_days_equals_brute_force(work, as_of) -> None:
    days = _brute_force_days(work, as_of)
    assert covered_days(work, as_of) == len(days)
    assert last_covered_day(work, as_of) == (max(days) if days else None)
    if days:
        assert virtual_start(work, as_of) == max(days) - timedelta(days=len(days) - 1)


@given(st.lists(small_periods(), max_size=6), small_dates, st.integers(1, 2))
def test_years_met_is_the_definition_on_the_days_counted(work, as_of, n) -> None:
    # N full years: the day after the last counted day is on or after the Nth anniversary
    # of the first day of the counted days laid end to end.
    days = _brute_force_days(work, as_of)
    expected = bool(days) and max(days) + DAY >= add_years(max(days) - timedelta(days=len(days) - 1), n)
    assert years_met(work, as_of, n) == expected


@given(period_lists, dates, years_n, st.integers(min_value=0, max_value=3000))
def test_met_stays_met_while_work_is_ongoing(work, as_of, n, k) -> None:
    work = work + [(as_of - timedelta(days=k % 2000), None)]  # ongoing, started <= as_of
    if years_met(work, as_of, n):
        assert years_met(work, as_of + timedelta(days=k), n)


@given(period_lists, dates, years_n, st.integers(min_value=0, max_value=5000))
def test_finished_periods_give_the_same_answer_whatever_as_of(work, as_of, n, k) -> None:
    finished = [(s, e) for s, e in work if e is not None and e < as_of]  # the evaluation day is not worked
    later = as_of + timedelta(days=k)
    assert years_met(finished, as_of, n) == years_met(finished, later, n)
    assert accumulated(finished, as_of) == accumulated(finished, later)


@given(period_lists, dates, years_n, st.lists(st.integers(1, 3000), max_size=5))
def test_eligible_on_is_honest(work, as_of, n, ks) -> None:
    d = eligible_on(work, as_of, n)
    if d is not None:
        assert d > as_of
        assert years_met(work, d, n)
        assert not years_met(work, d - DAY, n)
    elif not years_met(work, as_of, n):
        for k in ks + [1, 365, 3000]:
            assert not years_met(work, as_of + timedelta(days=k), n)
    else:
        assert years_met(work, as_of, n)


@given(period_lists, dates)
def test_accumulated_years_agree_with_years_met(work, as_of) -> None:
    acc = accumulated(work, as_of)
    assert 0 <= acc.months <= 11 and 0 <= acc.days <= 30
    for n in range(1, 6):
        assert (acc.years >= n) == years_met(work, as_of, n)


@given(period_lists, dates, years_n)
def test_shortfall_is_none_exactly_when_met(work, as_of, n) -> None:
    gap = shortfall(work, as_of, n)
    assert (gap is None) == years_met(work, as_of, n)


@given(st.lists(small_periods(), max_size=5), small_dates)
def test_eligible_on_matches_a_day_by_day_search(work, as_of) -> None:
    # One year needed, small date ranges: the day-by-day search is cheap here.
    expected = None
    if not years_met(work, as_of, 1):
        for k in range(1, 900):
            if years_met(work, as_of + timedelta(days=k), 1):
                expected = as_of + timedelta(days=k)
                break
    assert eligible_on(work, as_of, 1) == expected


@given(periods=period_lists, as_of=dates, years=years_n)
def test_summarise_agrees_with_the_single_functions(periods, as_of, years):
    from taian_titles.worktime import summarise
    summary = summarise(periods, as_of, years)
    if not merge(periods, as_of):
        assert summary is None
        return
    assert summary.spans == merge(periods, as_of)
    assert summary.covered_days == covered_days(periods, as_of)
    assert summary.virtual_start == virtual_start(periods, as_of)
    assert summary.anniversary == anniversary(periods, as_of, years)
    assert summary.met == years_met(periods, as_of, years)
    assert summary.eligible_on == eligible_on(periods, as_of, years)
    assert summary.accumulated == accumulated(periods, as_of)
    assert summary.shortfall == shortfall(periods, as_of, years)
    assert summary.shortfall_days == shortfall_days(periods, as_of, years)
    # Spans and durations computed in bulk skip their constructors' checks: the constructors
    # accept the same values and give equal, equally hashed objects.
    for span in summary.spans:
        rebuilt = Span(span.start, span.end)
        assert (rebuilt, hash(rebuilt), repr(rebuilt)) == (span, hash(span), repr(span))
    for duration in (summary.accumulated, summary.shortfall):
        if duration is not None:
            rebuilt = Duration(duration.years, duration.months, duration.days)
            assert (rebuilt, hash(rebuilt), rebuilt.zh(), rebuilt.en()) == (
                duration, hash(duration), duration.zh(), duration.en())
