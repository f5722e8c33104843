"""Accumulated working time: when an applicant has worked "N full years".

This module implements decision 6 of the policy spec.  The decision reads:

    "A work period covers its days from ``start`` to ``end``, both included; an
    ongoing period (no ``end``) runs to ``as_of``, and nothing after ``as_of``
    counts.  Overlapping or adjacent periods merge, so no day counts twice.  Lay
    the covered days end to end as one virtual continuous period that finishes on
    the last covered day.  N full years are met when that virtual period reaches
    its Nth anniversary, counted as the Civil Code counts periods (art. 201-202:
    the first day is not counted; a period ends on the corresponding day of the
    final month, or that month's last day where there is none).  For one
    continuous period this is simply its anniversary: work from 2022-03-01 meets
    3 years on 2025-03-01, not on 2025-02-28; work from 2024-02-29 meets them on
    2027-02-28; a period 2023-01-01 to 2025-12-31 falls one day short.  Finished
    periods give the same answer whatever ``as_of`` is, so a result never flips
    while nothing changes. ... explanations state the accumulated time in years,
    months and days."

Formalisation
-------------
A *period* is a pair ``(start, end)`` of :class:`datetime.date`, ``end`` being
``None`` for an ongoing period.  For an evaluation date ``as_of``:

* ``D`` is the set of covered days: every day ``start <= x <= end`` of some period
  (``end = as_of`` for an ongoing one), keeping only days ``x <= as_of``.
  :func:`merge` returns ``D`` as sorted, disjoint, non-adjacent :class:`Span` s.
* ``count = |D|`` (:func:`covered_days`) and ``L = max(D)`` (:func:`last_covered_day`).
* The virtual continuous period is ``[S, L]`` with ``S = L - (count - 1) days``
  (:func:`virtual_start`): it has exactly ``count`` days and ends on ``L``.
* :func:`add_years` / :func:`add_months` give the Civil Code's "corresponding
  day": same day of the month ``N`` years (months) later, or that month's last day
  where it does not exist (29 February + 1 year = 28 February).
* N full years are met on ``as_of`` iff ``count > 0`` and ``L >= add_years(S, N)``
  (:func:`years_met`).  Because the first day is not counted (art. 201), a period
  started on ``S`` completes N years at the end of ``add_years(S, N)`` (art. 202):
  work from 2022-03-01 meets 3 years on 2025-03-01.

Since ``S`` and ``L`` depend only on the covered days, and finished periods cover
the same days whatever ``as_of`` is once it is past their end, the answer for
finished periods never changes as ``as_of`` moves on.

Accumulated time (:func:`accumulated`)
--------------------------------------
The accumulated time is the length of the virtual period measured the Civil Code
way, i.e. the calendar distance from ``S`` to ``L`` with the first day (``S``)
not counted:

* ``k`` = the largest number of whole months with ``add_months(S, k) <= L``;
* ``years, months = divmod(k, 12)``;
* ``days = (L - add_months(S, k)).days``.

Every month count is taken from ``S`` itself (never chained), and
``add_years(S, y) == add_months(S, 12 * y)``, so month-end clamping is applied
identically here and in :func:`years_met`.  Hence, for every ``N >= 0``,
``accumulated(p, a).years >= N`` if and only if ``years_met(p, a, N)`` — also
when ``S`` is 29 February or another month end.  Examples: ``S = 2022-03-01``,
``L = 2025-03-01`` gives 3 years 0 months 0 days (met); ``L = 2025-02-28`` gives
2 years 11 months 27 days (not met); ``S = 2024-02-29``, ``L = 2027-02-28`` gives
3 years 0 months 0 days (met).  Consequence of not counting the first day: a
single covered day accumulates "0 years, 0 months and 0 days", as does no covered
day at all.

:func:`shortfall` is the calendar distance, measured the same way, from ``L`` to
the anniversary ``add_years(S, N)``, i.e. the time that still has to be worked
if work resumed the day after ``L`` without a break (2023-01-01 to 2025-12-31
against 3 years: 1 day).  With no covered day at all it is ``N`` years (the
period would start on the first day worked, which is not itself counted).

:func:`eligible_on` projects the recorded periods forward and returns the first
later date on which the requirement is met, in closed form (see its docstring).
"""

from __future__ import annotations

import calendar
import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Iterable, NamedTuple, Optional, Tuple, Union

__all__ = [
    "Span",
    "Duration",
    "Period",
    "add_years",
    "add_months",
    "merge",
    "covered_days",
    "virtual_start",
    "last_covered_day",
    "anniversary",
    "years_met",
    "eligible_on",
    "accumulated",
    "shortfall",
]

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, order=True)
class Span:
    """A closed interval of days ``[start, end]``, both included; ``start <= end``."""

    start: date
    end: date

    def __post_init__(self) -> None:
        _check_date(self.start, "start")
        _check_date(self.end, "end")
        if self.end < self.start:
            raise ValueError(f"span ends ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        """Number of days covered, both ends included."""
        return (self.end - self.start).days + 1


#: A work period as recorded: ``(start, end)`` with ``end is None`` for an ongoing
#: period.  A :class:`Span` is accepted wherever a period is.
Period = Union[Tuple[date, Optional[date]], Span]


@dataclass(frozen=True)
class Duration:
    """A length of time in full years, months and days (all non-negative)."""

    years: int
    months: int
    days: int

    def __post_init__(self) -> None:
        if self.years < 0 or self.months < 0 or self.days < 0:
            raise ValueError(f"negative duration: {self!r}")

    def _parts(self) -> list[tuple[int, int]]:
        # zero parts are left out ("5个月19天"); a zero duration reads "0天" / "0 days"
        parts = [(n, i) for i, n in enumerate((self.years, self.months, self.days)) if n]
        return parts or [(0, 2)]

    def zh(self) -> str:
        """Chinese rendering without zero parts: ``"2年8个月11天"``, ``"5个月19天"``, ``"0天"``."""
        return _render(self.years, self.months, self.days)[0]

    def en(self) -> str:
        """English rendering: ``"2 years, 8 months and 11 days"``, ``"1 month"`` (singular for 1)."""
        return _render(self.years, self.months, self.days)[1]

    def __str__(self) -> str:
        return self.en()


@functools.lru_cache(maxsize=4096)  # a few thousand durations cover years of daily dates
def _render(years: int, months: int, days: int) -> tuple[str, str]:
    parts = Duration(years, months, days)._parts()
    zh = "".join(f"{n}{('年', '个月', '天')[i]}" for n, i in parts)
    words = [_plural(n, ("year", "month", "day")[i]) for n, i in parts]
    en = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return zh, en


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def _check_date(value: object, what: str) -> None:
    # datetime is a subclass of date; mixing the two silently breaks comparisons.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime.date, got {value!r}")


# ---------------------------------------------------------------------------
# Calendar arithmetic (Civil Code art. 202 "corresponding day")


def add_months(d: date, months: int) -> date:
    """The corresponding day ``months`` months after ``d`` (before, if negative).

    Same day of the month; where the target month has no such day, its last day
    (2024-01-31 + 1 month = 2024-02-29).  Raises :class:`OverflowError` when the
    result falls outside the range of :class:`datetime.date`.
    """
    _check_date(d, "date")
    return _add_months(d, months)


def _add_months(d: date, months: int) -> date:
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    if not (1 <= year <= 9999):
        raise OverflowError(f"{d} + {months} months is out of the date range")
    month = month0 + 1
    day = d.day
    if day > 28:  # only then may the month be shorter (monthrange also computes a weekday)
        day = min(day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def add_years(d: date, years: int) -> date:
    """The Nth anniversary of ``d``: same month and day ``years`` years later.

    Where that day does not exist (29 February in a common year) the month's last
    day is used: ``add_years(date(2024, 2, 29), 3) == date(2027, 2, 28)``.
    Identical to ``add_months(d, 12 * years)``.
    """
    return add_months(d, 12 * years)


def _diff(a: date, b: date) -> Duration:
    """Calendar distance from ``a`` to ``b`` (``a <= b``), first day not counted."""
    k = (b.year - a.year) * 12 + (b.month - a.month)
    base = _add_months(a, k)
    if base > b:
        k -= 1
        base = _add_months(a, k)
    years, months = divmod(k, 12)
    return _trusted(Duration, years=years, months=months, days=(b - base).days)


def _trusted(cls: type, **fields: Any) -> Any:
    """An instance of a frozen dataclass of this module whose fields are valid by construction:
    without the checks of ``__post_init__`` (spans and durations computed here, in bulk)."""
    obj = object.__new__(cls)
    obj.__dict__.update(fields)
    return obj


# ---------------------------------------------------------------------------
# Covered days


def _normalise(periods: Iterable[Period]) -> list[tuple[date, Optional[date]]]:
    out: list[tuple[date, Optional[date]]] = []
    for p in periods:
        if isinstance(p, Span):
            start, end = p.start, p.end
        else:
            start, end = p
        _check_date(start, "period start")
        if end is not None:
            _check_date(end, "period end")
            if end < start:
                raise ValueError(f"work period ends ({end}) before it starts ({start})")
        out.append((start, end))
    return out


def _merge_open(
    items: Iterable[tuple[date, Optional[date]]],
) -> list[tuple[date, Optional[date]]]:
    """Merge overlapping/adjacent intervals; ``None`` as end means "for ever"."""
    # Sort by start; an open end sorts after every closed one with the same start.
    ordered = sorted(items, key=lambda se: (se[0], se[1] is None, se[1] or se[0]))
    merged: list[tuple[date, Optional[date]]] = []
    for start, end in ordered:
        if merged:
            last_start, last_end = merged[-1]
            if last_end is None:
                continue  # already covers everything from last_start on
            if (start - last_end).days <= 1:  # overlapping or adjacent
                new_end = None if end is None else max(end, last_end)
                merged[-1] = (last_start, new_end)
                continue
        merged.append((start, end))
    return merged


def merge(periods: Iterable[Period], as_of: date) -> tuple[Span, ...]:
    """The covered days up to ``as_of`` as sorted, disjoint, non-adjacent spans.

    Each period is ``(start, end)`` with ``end is None`` for an ongoing period,
    which runs to ``as_of``.  Every period is clipped to ``as_of``; one starting
    after ``as_of`` contributes nothing.  Overlapping periods and adjacent ones
    (one ends the day before the next starts) merge.  Raises :class:`ValueError`
    for a period that ends before it starts (whether or not it is clipped).
    """
    _check_date(as_of, "as_of")
    return _merge_items(_normalise(periods), as_of)


def _merge_items(items: list[tuple[date, Optional[date]]], as_of: date) -> tuple[Span, ...]:
    clipped: list[tuple[date, Optional[date]]] = []
    for start, end in items:
        stop = as_of if end is None or end > as_of else end
        if start <= stop:
            clipped.append((start, stop))
    # merged clipped periods: dates, each ending on or after its start
    return tuple([_trusted(Span, start=s, end=e) for s, e in _merge_open(clipped) if e is not None])


def _coverage(periods: Iterable[Period], as_of: date) -> tuple[int, Optional[date]]:
    spans = merge(periods, as_of)
    if not spans:
        return 0, None
    return sum(s.days for s in spans), spans[-1].end


def covered_days(periods: Iterable[Period], as_of: date) -> int:
    """Number of distinct days covered up to ``as_of`` (``|D|``)."""
    return _coverage(periods, as_of)[0]


def last_covered_day(periods: Iterable[Period], as_of: date) -> Optional[date]:
    """The last covered day ``L`` up to ``as_of``; ``None`` when no day is covered."""
    return _coverage(periods, as_of)[1]


def _virtual(periods: Iterable[Period], as_of: date) -> Optional[tuple[date, date]]:
    count, last = _coverage(periods, as_of)
    if last is None:
        return None
    return last - timedelta(days=count - 1), last


def virtual_start(periods: Iterable[Period], as_of: date) -> Optional[date]:
    """Start ``S = L - (count - 1) days`` of the virtual continuous period.

    ``None`` when no day is covered.
    """
    v = _virtual(periods, as_of)
    return None if v is None else v[0]


def _check_years(years: int) -> None:
    if not isinstance(years, int) or isinstance(years, bool) or years < 0:
        raise ValueError(f"years must be a non-negative integer, got {years!r}")


def anniversary(periods: Iterable[Period], as_of: date, years: int) -> Optional[date]:
    """``add_years(S, years)``: the day on which the virtual period completes
    ``years`` years.  ``None`` when no day is covered."""
    _check_years(years)
    s = virtual_start(periods, as_of)
    return None if s is None else add_years(s, years)


def years_met(periods: Iterable[Period], as_of: date, years: int) -> bool:
    """Whether ``years`` full years of work are met on ``as_of``.

    True iff some day is covered and ``L >= add_years(S, years)``.
    """
    _check_years(years)
    v = _virtual(periods, as_of)
    if v is None:
        return False
    s, last = v
    try:
        return last >= add_years(s, years)
    except OverflowError:
        return False


def eligible_on(periods: Iterable[Period], as_of: date, years: int) -> Optional[date]:
    """The first date ``d > as_of`` on which ``years_met(periods, d, years)`` holds.

    The recorded periods are assumed to run on exactly as recorded: ongoing ones
    for ever, ones with a future end until that end, ones starting in the future
    from their start.  Returns ``None`` when the requirement is already met on
    ``as_of``, or when it would never be met that way.

    Closed form: merge the recorded periods without clipping (ongoing = for ever)
    and walk the merged segments in order.  Within a segment ``[a, b]`` the
    virtual start is the constant ``S = a - (days covered before a)`` and
    ``L = d``, so the requirement holds from ``max(a, add_years(S, years))`` on,
    if that is ``<= b``.  In a gap after a segment nothing changes, so a gap
    never starts being eligible.  A segment already under way on ``as_of`` is
    only considered from ``as_of + 1``.
    """
    _check_years(years)
    _check_date(as_of, "as_of")
    items = _normalise(periods)
    if years_met(items, as_of, years):
        return None
    return _eligible_after(items, as_of, years)


def _eligible_after(items: list[tuple[date, Optional[date]]], as_of: date, years: int) -> Optional[date]:
    """:func:`eligible_on` for normalised periods whose requirement is not met on ``as_of``."""
    if as_of == date.max:
        return None
    first = as_of + _ONE_DAY
    before = 0  # days covered before the current segment
    for a, b in _merge_open(items):
        if b is not None and b < first:
            before += (b - a).days + 1
            continue
        try:
            s = a - timedelta(days=before)
            candidate = max(a, first, add_years(s, years))
        except (OverflowError, ValueError):
            return None
        if b is None or candidate <= b:
            return candidate
        before += (b - a).days + 1
    return None


# ---------------------------------------------------------------------------
# Explanations


def accumulated(periods: Iterable[Period], as_of: date) -> Duration:
    """Accumulated working time up to ``as_of``, in years, months and days.

    The calendar distance from the virtual start ``S`` to the last covered day
    ``L``, the first day not counted (Civil Code art. 201): with ``k`` the largest
    number of months such that ``add_months(S, k) <= L``, the result is
    ``divmod(k, 12)`` years and months plus ``(L - add_months(S, k)).days`` days.
    All month counts are taken from ``S`` (never chained), which makes
    ``accumulated(p, a).years >= n`` exactly equivalent to ``years_met(p, a, n)``,
    including when ``S`` is 29 February.  ``S = 2022-03-01``, ``L = 2025-03-01``
    gives 3 years 0 months 0 days; ``L = 2025-02-28`` gives 2 years 11 months 27
    days.  No covered day, or a single one, gives 0 years 0 months 0 days.
    """
    v = _virtual(periods, as_of)
    if v is None:
        return Duration(0, 0, 0)
    return _diff(*v)


def shortfall(periods: Iterable[Period], as_of: date, years: int) -> Optional[Duration]:
    """Time still missing for ``years`` full years; ``None`` when already met.

    The calendar distance (measured as in :func:`accumulated`) from the last
    covered day ``L`` to the anniversary ``add_years(S, years)``: the time still
    to work if work resumed the day after ``L`` without a break.  A period
    2023-01-01 to 2025-12-31 is 1 day short of 3 years.  With no covered day at
    all, the whole ``years`` years are missing.
    """
    _check_years(years)
    items = _normalise(periods)  # may be a one-shot iterable
    if years_met(items, as_of, years):
        return None
    v = _virtual(items, as_of)
    if v is None:
        return Duration(years, 0, 0)
    s, last = v
    return _diff(last, add_years(s, years))


class WorkTime(NamedTuple):
    """Everything decision 6 says about a set of periods on one date, computed in one pass."""

    spans: tuple[Span, ...]
    covered_days: int
    virtual_start: date
    last_day: date
    anniversary: date
    met: bool
    eligible_on: Optional[date]
    accumulated: Duration
    shortfall: Optional[Duration]


def summarise(periods: Iterable[Period], as_of: date, years: int) -> Optional[WorkTime]:
    """The :class:`WorkTime` of ``periods`` on ``as_of``; ``None`` when no day is covered.

    Equal to calling :func:`merge`, :func:`covered_days`, :func:`virtual_start`,
    :func:`anniversary`, :func:`years_met`, :func:`eligible_on`, :func:`accumulated`
    and :func:`shortfall` one by one (a test checks it), but merges only once.
    """
    _check_years(years)
    _check_date(as_of, "as_of")
    items = _normalise(periods)
    spans = _merge_items(items, as_of)
    if not spans:
        return None
    count = sum([s.days for s in spans])
    last = spans[-1].end
    start = last - timedelta(days=count - 1)
    target = _add_months(start, 12 * years)
    met = last >= target
    return WorkTime(
        spans=spans, covered_days=count, virtual_start=start, last_day=last, anniversary=target,
        met=met, eligible_on=None if met else _eligible_after(items, as_of, years),
        accumulated=_diff(start, last), shortfall=None if met else _diff(last, target),
    )
