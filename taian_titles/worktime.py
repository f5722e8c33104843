"""Accumulated working time: when an applicant has worked "N full years" (decision 6).

The reading (ruleset 1.1, see ``docs/decisions.md``):

    Work is counted in whole days: a work period covers ``start`` to ``end``, both included.
    The evaluation day itself is not yet worked, so an ongoing period, or one that ends on
    or after ``as_of``, counts up to the day before ``as_of``; nothing later counts.
    Overlapping or adjacent periods merge, so no day counts twice.  Lay the counted days end
    to end as one continuous stretch that finishes on the last counted day L; let F be its
    first day.  N full years are met when the day after L is on or after the Nth anniversary
    of F (the corresponding day N years later, or the last day of that month where there is
    none, as the Civil Code art. 202 fixes the end of a period).

So a finished 3-year contract 2022-06-01 to 2025-05-31 is 3 full years; ongoing work from
2022-03-01 meets 3 years on 2025-03-01, not on 2025-02-28; work from 2024-02-29 meets them on
2027-02-28; a period 2023-01-01 to 2025-12-31 meets them.

Formalisation
-------------
A *period* is a pair ``(start, end)`` of :class:`datetime.date`, ``end`` being ``None`` for an
ongoing period.  For an evaluation date ``as_of``:

* ``D`` is the set of counted days: every day ``start <= x <= end`` of some period (``end =
  as_of - 1`` for an ongoing one), keeping only days ``x < as_of``.  :func:`merge` returns
  ``D`` as sorted, disjoint, non-adjacent :class:`Span` s.
* ``count = |D|`` (:func:`covered_days`) and ``L = max(D)`` (:func:`last_covered_day`).
* The stretch is ``[F, L]`` with ``F = L - (count - 1) days`` (:func:`virtual_start`): it has
  exactly ``count`` days and ends on ``L``; ``E = L + 1 day`` is the day after it.
* :func:`add_years` / :func:`add_months` give the Civil Code's "corresponding day": same day of
  the month ``N`` years (months) later, or that month's last day where it does not exist
  (29 February + 1 year = 28 February).
* N full years are met on ``as_of`` iff ``count > 0`` and ``E >= add_years(F, N)``
  (:func:`years_met`).

Since ``F`` and ``L`` depend only on the counted days, and finished periods cover the same
days whatever ``as_of`` is once it is past their end, the answer for finished periods never
changes as ``as_of`` moves on.

Accumulated time (:func:`accumulated`)
--------------------------------------
The time counted is the calendar distance from ``F`` to ``E`` (the stretch ``[F, L]``, its
days all counted):

* ``k`` = the largest number of whole months with ``add_months(F, k) <= E``;
* ``years, months = divmod(k, 12)``;
* ``days = (E - add_months(F, k)).days``.

Every month count is taken from ``F`` itself (never chained), and ``add_years(F, y) ==
add_months(F, 12 * y)``, so month-end clamping is applied identically here and in
:func:`years_met`.  Hence, for every ``N >= 0``, ``accumulated(p, a).years >= N`` if and only
if ``years_met(p, a, N)`` — also when ``F`` is 29 February or another month end.  Examples:
2022-06-01 to 2025-05-31 gives 3 years 0 months 0 days (met); ongoing from 2022-03-01 on
``as_of`` 2025-02-28 gives 2 years 11 months 27 days (not met).  A single counted day
accumulates "1 day"; no counted day at all, "0 days".

:func:`shortfall` is the calendar distance, measured the same way, from ``E`` to the
anniversary ``add_years(F, N)``: the time still to work if work goes on from ``E`` without a
break; :func:`shortfall_days` gives it in days.  With no counted day at all it is ``N`` years.

:func:`eligible_on` projects the recorded periods forward and returns the first later date on
which the requirement is met, in closed form (see its docstring).
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
    "shortfall_days",
    "WorkTime",
    "summarise",
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
    """The days counted on ``as_of`` as sorted, disjoint, non-adjacent spans.

    Each period is ``(start, end)`` with ``end is None`` for an ongoing period.  The
    evaluation day is not yet worked: every period is clipped to the day before ``as_of``,
    and one starting on or after ``as_of`` contributes nothing.  Overlapping periods and
    adjacent ones (one ends the day before the next starts) merge.  Raises
    :class:`ValueError` for a period that ends before it starts (whether or not it is clipped).
    """
    _check_date(as_of, "as_of")
    return _merge_items(_normalise(periods), as_of)


def _merge_items(items: list[tuple[date, Optional[date]]], as_of: date) -> tuple[Span, ...]:
    if as_of == date.min:
        return ()
    last = as_of - _ONE_DAY  # the evaluation day itself is not yet worked
    clipped: list[tuple[date, Optional[date]]] = []
    for start, end in items:
        stop = last if end is None or end > last else end
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
    """Number of distinct days counted on ``as_of`` (``|D|``; the evaluation day is not one)."""
    return _coverage(periods, as_of)[0]


def last_covered_day(periods: Iterable[Period], as_of: date) -> Optional[date]:
    """The last counted day ``L`` (before ``as_of``); ``None`` when no day is counted."""
    return _coverage(periods, as_of)[1]


def _virtual(periods: Iterable[Period], as_of: date) -> Optional[tuple[date, date]]:
    count, last = _coverage(periods, as_of)
    if last is None:
        return None
    return last - timedelta(days=count - 1), last


def virtual_start(periods: Iterable[Period], as_of: date) -> Optional[date]:
    """First day ``F = L - (count - 1) days`` of the counted days laid end to end.

    ``None`` when no day is counted.
    """
    v = _virtual(periods, as_of)
    return None if v is None else v[0]


def _check_years(years: int) -> None:
    if not isinstance(years, int) or isinstance(years, bool) or years < 0:
        raise ValueError(f"years must be a non-negative integer, got {years!r}")


def anniversary(periods: Iterable[Period], as_of: date, years: int) -> Optional[date]:
    """``add_years(F, years)``: the day by which the counted stretch must reach (its day
    after, ``E``) to complete ``years`` years.  ``None`` when no day is counted."""
    _check_years(years)
    s = virtual_start(periods, as_of)
    return None if s is None else add_years(s, years)


def years_met(periods: Iterable[Period], as_of: date, years: int) -> bool:
    """Whether ``years`` full years of work are met on ``as_of``.

    True iff some day is counted and ``L + 1 day >= add_years(F, years)``.
    """
    _check_years(years)
    v = _virtual(periods, as_of)
    if v is None:
        return False
    s, last = v
    try:
        return last + _ONE_DAY >= add_years(s, years)
    except OverflowError:
        return False


def eligible_on(periods: Iterable[Period], as_of: date, years: int) -> Optional[date]:
    """The first date ``d > as_of`` on which ``years_met(periods, d, years)`` holds.

    The recorded periods are assumed to run on exactly as recorded: ongoing ones
    for ever, ones with a future end until that end, ones starting in the future
    from their start.  Returns ``None`` when the requirement is already met on
    ``as_of``, or when it would never be met that way.

    Closed form: merge the recorded periods without clipping (ongoing = for ever)
    and walk the merged segments in order.  While ``d`` runs through ``[a + 1, b + 1]``
    the counted days of a segment ``[a, b]`` end on ``L = d - 1``, and the first
    day is the constant ``F = a - (days counted before a)``, so the requirement
    holds from ``max(a + 1, add_years(F, years))`` on, if that is ``<= b + 1``.
    Later, in the gap after the segment, nothing changes, so a gap never starts
    being eligible.  Only dates after ``as_of`` are considered.
    """
    _check_years(years)
    _check_date(as_of, "as_of")
    items = _normalise(periods)
    if years_met(items, as_of, years):
        return None
    return _eligible_after(items, as_of, years)


def _eligible_after(items: list[tuple[date, Optional[date]]], as_of: date, years: int) -> Optional[date]:
    """:func:`eligible_on` for normalised periods whose requirement is not met on ``as_of``."""
    if as_of >= date.max - _ONE_DAY:
        return None
    first = as_of + _ONE_DAY
    before = 0  # days counted before the current segment
    for a, b in _merge_open(items):
        if b is not None and b + _ONE_DAY < first:
            before += (b - a).days + 1
            continue
        try:
            s = a - timedelta(days=before)
            candidate = max(a + _ONE_DAY, first, add_years(s, years))
        except (OverflowError, ValueError):
            return None
        if b is None or candidate <= b + _ONE_DAY:
            return candidate
        before += (b - a).days + 1
    return None


# ---------------------------------------------------------------------------
# Explanations


def accumulated(periods: Iterable[Period], as_of: date) -> Duration:
    """The time counted on ``as_of``, in years, months and days.

    The calendar distance from ``F`` to ``E = L + 1 day``: with ``k`` the largest number of
    months such that ``add_months(F, k) <= E``, the result is ``divmod(k, 12)`` years and
    months plus ``(E - add_months(F, k)).days`` days.  All month counts are taken from ``F``
    (never chained), which makes ``accumulated(p, a).years >= n`` exactly equivalent to
    ``years_met(p, a, n)``, including when ``F`` is 29 February.  2022-06-01 to 2025-05-31
    gives 3 years 0 months 0 days; one counted day gives 1 day; none, 0 days.
    """
    v = _virtual(periods, as_of)
    if v is None:
        return Duration(0, 0, 0)
    return _diff(v[0], v[1] + _ONE_DAY)


def shortfall(periods: Iterable[Period], as_of: date, years: int) -> Optional[Duration]:
    """Time still missing for ``years`` full years; ``None`` when already met.

    The calendar distance (measured as in :func:`accumulated`) from ``E = L + 1 day`` to
    the anniversary ``add_years(F, years)``: the time still to work if work goes on from
    ``E`` without a break.  Ongoing work from 2022-03-01 on ``as_of`` 2025-02-28 is 1 day
    short of 3 years.  With no counted day at all, the whole ``years`` years are missing.
    """
    _check_years(years)
    items = _normalise(periods)  # may be a one-shot iterable
    if years_met(items, as_of, years):
        return None
    v = _virtual(items, as_of)
    if v is None:
        return Duration(years, 0, 0)
    s, last = v
    return _diff(last + _ONE_DAY, add_years(s, years))


def shortfall_days(periods: Iterable[Period], as_of: date, years: int) -> Optional[int]:
    """:func:`shortfall` in days: ``(add_years(F, years) - E).days``; ``None`` when met or
    when no day is counted (then the days depend on when work starts)."""
    _check_years(years)
    items = _normalise(periods)
    if years_met(items, as_of, years):
        return None
    v = _virtual(items, as_of)
    if v is None:
        return None
    s, last = v
    return (add_years(s, years) - (last + _ONE_DAY)).days


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
    shortfall_days: Optional[int]


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
    after = last + _ONE_DAY
    met = after >= target
    return WorkTime(
        spans=spans, covered_days=count, virtual_start=start, last_day=last, anniversary=target,
        met=met, eligible_on=None if met else _eligible_after(items, as_of, years),
        accumulated=_diff(start, after), shortfall=None if met else _diff(after, target),
        shortfall_days=None if met else (target - after).days,
    )
