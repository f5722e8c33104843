"""Hypothesis strategies for HR systems that test their use of taian-titles.

Every strategy here generates records that are **valid by construction**: model objects build
without error, and their exchange dicts are accepted by :func:`taian_titles.applicant_from_dict`
(unique certificate numbers, no senior training certificate, no ``end`` before ``start``,
non-empty identities).  Keyword knobs steer generation towards the edges of measure nine
where mistakes hide:

==========================  =====================================================================
knob                        edge
==========================  =====================================================================
``near_anniversary``        merged work time reaches its N-year anniversary (N = the ruleset's
                            ``required_years``) within a few days of the evaluation date
                            (decision 6); the work may be split in two periods with a gap.
``leap_day``                dates on 28/29 February and 1 March of leap years: work that starts
                            on 29 February, evaluations on 29 February.
``issued_near_as_of``       certificates issued on, or one to three days after, the evaluation
                            date (decision 2).
``near_in_force``           evaluation dates within a few days of the measure's in-force date
                            (decision 1, the ruleset's ``in_force_from``).
``near_quota``              recommendation lists whose digital share is at, one below or one
                            above the smallest count that meets the quota (decision 10).
``crossover_route``         the applicant holds a skill level of a crossover route (高级工 →
                            assistant engineer, 技师 → engineer, 高级技师 and above → senior
                            engineer) whose skilled work since the level's date reaches the
                            route's 2/3/4-year anniversary within a few days of the evaluation
                            date (鲁人社发〔2020〕16号); work may begin before the level (not
                            counted) or be split by a gap.
==========================  =====================================================================

The policy numbers (in-force date, years, quota share, digital directions) are read from a
ruleset (``ruleset=``, default :func:`taian_titles.default_ruleset`), so the strategies follow a
ruleset an HR office has changed.

Two strategies generate bad input: :func:`invalid_applicant_dicts` and
:func:`invalid_recommendation_list_dicts` yield ``(record, path)`` pairs, a JSON-ready dict with
exactly one fault and the exchange-format path of that fault (``certificates[1].level``), which
an :class:`taian_titles.InputError` must name.

This module needs hypothesis at run time: ``pip install 'taian-titles[strategies]'``.
See ``docs/strategies.md`` for a worked example.
"""

from __future__ import annotations

import copy
import datetime as _dt
import functools
import math
from typing import Any, Callable, Literal, Sequence

import attrs
from hypothesis import reject, strategies as st
from hypothesis.strategies import SearchStrategy

from .exchange import applicant_to_dict, recommendation_list_to_dict
from .model import (
    DTE_PROGRAMME,
    Achievement,
    Applicant,
    Candidate,
    Certificate,
    CertificateKind,
    Level,
    RecommendationList,
    SkillLevel,
    SkillLevelRecord,
    Title,
    TitleLevel,
    WorkKind,
    WorkPeriod,
)
from .policy import default_policy
from .ruleset import Ruleset, default_ruleset
from .worktime import add_years

__all__ = [
    "TAIAN_UNITS",
    "TRICKY_TEXT",
    "dates",
    "evaluation_dates",
    "certificates",
    "work_periods",
    "skill_levels",
    "titles",
    "achievements",
    "applicants",
    "applicants_at_edges",
    "applicant_dicts",
    "candidates",
    "recommendation_lists",
    "recommendation_list_dicts",
    "quota_threshold",
    "CROSSOVER_ROUTES",
    "crossover_route_levels",
    "crossover_route_years",
    "crossover_work",
    "invalid_applicant_dicts",
    "APPLICANT_FAULTS",
    "invalid_recommendation_list_dicts",
]

#: The recommending units of Taian for M9-4 (six county-level units, three functional zones).
TAIAN_UNITS = ("泰山区", "岱岳区", "新泰市", "肥城市", "宁阳县", "东平县", "泰安高新区", "泰山景区", "徂汶景区")

#: Default date window of everything generated: the programme began in 2021.
MIN_DATE = _dt.date(2015, 1, 1)
MAX_DATE = _dt.date(2035, 12, 31)

#: Certificate issue dates start with the programme.
PROGRAMME_START = _dt.date(2021, 1, 1)

#: Directions of work that are not digital (kept as free text by the model).
NON_DIGITAL_DIRECTIONS = ("机械制造", "财务会计", "土木工程", "农业技术")
OTHER_PROGRAMMES = ("人社部职业技能等级认定", "other_programme", "工业和信息化部人才交流中心")

#: Text that has broken string handling elsewhere: quotes, backslashes, template braces,
#: dollar signs (the engine's reserved prefix), line separators, very long text.
TRICKY_TEXT = ('a"b', "x\\y", "{cert.number}", "{$required_years}", "$ref", "sid", "a\u2028b",
               "证书 编号", "\t#1", "é" * 60)

DateLike = _dt.date | SearchStrategy[_dt.date] | None
Issued = Literal["any", "held", "near_as_of", "after_as_of"]


# --------------------------------------------------------------------------- helpers

def _rs(ruleset: Ruleset | None) -> Ruleset:
    return ruleset or default_ruleset()


def _draw_date(draw: Callable[[SearchStrategy[Any]], Any], value: DateLike,
               default: SearchStrategy[_dt.date]) -> _dt.date:
    if value is None:
        return draw(default)
    if isinstance(value, _dt.date):
        return value
    return draw(value)


def _days(n: int) -> _dt.timedelta:
    return _dt.timedelta(days=n)


# Generation speed: strategies built inside a composite are validated on every draw, which
# made generating an applicant cost ~20 ms.  The hot path therefore draws integers
# (``st.integers`` is cached by hypothesis) and indexes tuples, and the few text strategies
# are built once (``lru_cache``).

def _pick(draw: Any, values: Sequence[Any]) -> Any:
    """One of ``values``, close to uniformly; shrinks towards the first.

    Hypothesis draws small bounded integers with a strong lean to the bounds (index 0 came up
    for a third of the draws); a wide integer taken modulo the length spreads the choice.
    """
    return values[draw(st.integers(0, 2**16 - 1)) % len(values)]


def _maybe(draw: Any) -> bool:
    return bool(draw(st.booleans()))


def _day_between(draw: Any, lo: _dt.date, hi: _dt.date, leap_day: bool = False) -> _dt.date:
    """A day in [lo, hi]; with ``leap_day`` three times in four a leap-year 28/29 Feb or 1 Mar."""
    if hi < lo:
        hi = lo
    if leap_day and draw(st.integers(0, 3)) < 3:
        edges = _leap_days(lo, hi)
        if edges:
            return _pick(draw, edges)
    return lo + _days(draw(st.integers(0, (hi - lo).days)))


@functools.lru_cache(maxsize=None)
def _leap_days(lo: _dt.date, hi: _dt.date) -> tuple[_dt.date, ...]:
    """28/29 February and 1 March of every leap year with 29 February in [lo, hi]."""
    out = []
    for year in range(lo.year, hi.year + 1):
        if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
            for day in (_dt.date(year, 2, 28), _dt.date(year, 2, 29), _dt.date(year, 3, 1)):
                if lo <= day <= hi:
                    out.append(day)
    return tuple(out)


@functools.lru_cache(maxsize=None)
def _identifier(prefix: str) -> SearchStrategy[str]:
    """Mostly realistic identifiers, sometimes arbitrary or tricky non-blank text."""
    realistic = st.builds(lambda n: f"{prefix}{n:06d}", st.integers(0, 999_999))
    free = st.text(min_size=1, max_size=16).filter(lambda s: s.strip() != "")
    return st.one_of(realistic, realistic, realistic, free, st.sampled_from(TRICKY_TEXT))


@functools.lru_cache(maxsize=None)
def _free_text(realistic: tuple[str, ...]) -> SearchStrategy[str]:
    return st.one_of(st.sampled_from(realistic), st.sampled_from(realistic),
                     st.text(min_size=1, max_size=30).filter(lambda s: s.strip() != ""),
                     st.sampled_from(TRICKY_TEXT))


# --------------------------------------------------------------------------- dates

def dates(*, min_value: _dt.date = MIN_DATE, max_value: _dt.date = MAX_DATE,
          leap_day: bool = False) -> SearchStrategy[_dt.date]:
    """Dates in ``[min_value, max_value]``; with ``leap_day``, mostly 28/29 Feb and 1 Mar of leap years."""
    if max_value < min_value:
        raise ValueError(f"max_value {max_value} is before min_value {min_value}")
    return st.composite(lambda draw: _day_between(draw, min_value, max_value, leap_day))()


def evaluation_dates(*, ruleset: Ruleset | None = None, in_force: bool | None = True,
                     near_in_force: bool = False, leap_day: bool = False,
                     min_value: _dt.date = MIN_DATE, max_value: _dt.date = MAX_DATE) -> SearchStrategy[_dt.date]:
    """Evaluation dates (``as_of``).

    ``in_force=True`` (default): on or after the ruleset's ``in_force_from``; ``False``: before
    it; ``None``: either.  ``near_in_force`` draws mostly within three days of the in-force date
    (on the allowed side); ``leap_day`` mostly 28/29 February and 1 March of leap years.
    """
    start = _rs(ruleset).param("in_force_from")
    lo, hi = min_value, max_value
    if in_force is True:
        lo = max(lo, start)
    elif in_force is False:
        hi = min(hi, start - _days(1))
    if lo > hi:
        raise ValueError(f"no evaluation date in [{lo}, {hi}] with in_force={in_force}")
    near = tuple(start + _days(k) for k in range(-3, 4) if lo <= start + _days(k) <= hi)

    @st.composite
    def draw_date(draw: Any) -> _dt.date:
        if near_in_force and near and draw(st.integers(0, 3)) < 3:
            return _pick(draw, near)
        return _day_between(draw, lo, hi, leap_day)

    return draw_date()


# --------------------------------------------------------------------------- applicant items

_CERT_KINDS = ((CertificateKind.professional_level, Level.junior),
               (CertificateKind.professional_level, Level.intermediate),
               (CertificateKind.professional_level, Level.senior),
               (CertificateKind.training, Level.junior),
               (CertificateKind.training, Level.intermediate))


@st.composite
def certificates(draw: Any, *, as_of: _dt.date | None = None, issued: Issued = "any",
                 programme: str | None = None, kind: CertificateKind | str | None = None,
                 level: Level | str | None = None, direction: str | None = None,
                 revoked: bool | None = None, number: str | None = None,
                 leap_day: bool = False, ruleset: Ruleset | None = None) -> Certificate:
    """A certificate; of the Digital Technology Engineer programme unless ``programme`` says otherwise.

    ``issued`` places ``issued_on`` relative to ``as_of`` (required unless ``"any"``):
    ``"held"`` on or before it, ``"near_as_of"`` on it or one to three days after (the
    decision-2 edge), ``"after_as_of"`` strictly after.  ``kind``/``level`` default to any valid
    pair (never a senior training certificate); ``revoked`` defaults to False three times in four.
    Numbers are mostly ``DTE-<n>`` but sometimes arbitrary or tricky text.
    """
    if issued != "any" and as_of is None:
        raise ValueError(f"issued={issued!r} needs as_of")
    pairs = [(k, v) for k, v in _CERT_KINDS
             if (kind is None or k is CertificateKind.parse(kind))
             and (level is None or v is Level.parse(level))]
    if not pairs:
        raise ValueError(f"no valid certificate of kind {kind} and level {level}")
    cert_kind, cert_level = _pick(draw, pairs)
    if programme is None:
        programme = DTE_PROGRAMME if draw(st.integers(0, 3)) < 3 else _pick(draw, OTHER_PROGRAMMES)
    if direction is None:
        direction = _pick(draw, tuple(_rs(ruleset).param("digital_directions")))
    if revoked is None:
        revoked = draw(st.integers(0, 3)) == 3
    if number is None:
        number = draw(_identifier("DTE-"))
    if issued == "any":
        lo = PROGRAMME_START if as_of is None else min(PROGRAMME_START, as_of)
        hi = MAX_DATE if as_of is None else as_of + _days(366)
        day = _day_between(draw, lo, hi, leap_day)
    elif issued == "held":
        assert as_of is not None
        if _maybe(draw):
            day = as_of - _days(draw(st.integers(0, 2)))
        else:
            day = _day_between(draw, min(PROGRAMME_START, as_of), as_of, leap_day)
    elif issued == "near_as_of":
        assert as_of is not None
        day = as_of + _days(draw(st.integers(0, 3)))
    elif issued == "after_as_of":
        assert as_of is not None
        day = as_of + _days(1 if _maybe(draw) else draw(st.integers(1, 800)))
    else:
        raise ValueError(f"issued must be one of any, held, near_as_of, after_as_of; got {issued!r}")
    return Certificate(number=number, programme=programme, kind=cert_kind, level=cert_level,
                       direction=direction, issued_on=day, revoked=revoked)


def _draw_direction(draw: Any, ruleset: Ruleset | None, digital: bool | None) -> str:
    """A work direction: a digital one (of the ruleset) three times in four unless ``digital`` says."""
    if digital is None:
        digital = draw(st.integers(0, 3)) < 3
    if digital:
        return _pick(draw, tuple(_rs(ruleset).param("digital_directions")))
    return _pick(draw, NON_DIGITAL_DIRECTIONS)


@st.composite
def work_periods(draw: Any, *, as_of: _dt.date | None = None, kind: WorkKind | str | None = None,
                 direction: str | None = None, ongoing: bool | None = None,
                 near_anniversary: bool = False, leap_day: bool = False,
                 ruleset: Ruleset | None = None) -> WorkPeriod:
    """One work period (both ends included; ``end=None`` while ongoing).

    With ``near_anniversary`` (needs ``as_of``) the period starts within three days of the day
    ``required_years`` before ``as_of``, so its anniversary falls within three days of
    ``as_of``; unless ``ongoing=True`` it may also end within two days of ``as_of``.  With
    ``leap_day`` it starts on 28/29 February or 1 March of a leap year.  ``kind`` defaults to
    professional-technical work three times in four, ``direction`` to a digital direction three
    times in four.
    """
    rs = _rs(ruleset)
    work_kind = WorkKind.parse(kind) if kind is not None else (
        WorkKind.professional_technical if draw(st.integers(0, 3)) < 3 else WorkKind.skilled)
    if direction is None:
        direction = _draw_direction(draw, ruleset, None)
    hi = MAX_DATE if as_of is None else as_of + _days(400)
    if near_anniversary:
        if as_of is None:
            raise ValueError("near_anniversary needs as_of")
        start = add_years(as_of, -rs.param("required_years")) + _days(draw(st.integers(-3, 3)))
    else:
        start = _day_between(draw, MIN_DATE, hi, leap_day)
    is_ongoing = _maybe(draw) if ongoing is None else ongoing
    end: _dt.date | None = None
    if not is_ongoing:
        if near_anniversary:
            assert as_of is not None
            end = max(start, as_of + _days(draw(st.integers(-2, 2))))
        else:
            end = (start + _days(draw(st.integers(0, 3))) if _maybe(draw)
                   else _day_between(draw, start, max(start, hi), leap_day))
    employer = None if _maybe(draw) else draw(_free_text(("泰安某科技有限公司", "泰山智能制造有限公司")))
    return WorkPeriod(start=start, kind=work_kind, direction=direction, end=end, employer=employer)


@st.composite
def _split_work(draw: Any, as_of: _dt.date, direction: str, rs: Ruleset) -> tuple[WorkPeriod, ...]:
    """Professional work whose *merged* time reaches its anniversary within three days of ``as_of``.

    Either one period, or a finished period and an ongoing one with a gap between them, sized
    so that the virtual continuous period (decision 6) starts near ``as_of - N years``.
    """
    years = rs.param("required_years")
    target_start = add_years(as_of, -years) + _days(draw(st.integers(-3, 3)))
    count = (as_of - target_start).days + 1  # days the virtual period must cover
    kind = WorkKind.professional_technical
    if count < 3 or not _maybe(draw):
        return (WorkPeriod(start=target_start, kind=kind, direction=direction),)
    second_len = draw(st.integers(1, count - 1))
    gap = draw(st.integers(1, 90))
    second_start = as_of - _days(second_len - 1)
    first_end = second_start - _days(gap + 1)
    first_len = count - second_len
    first_start = first_end - _days(first_len - 1)
    periods = [WorkPeriod(start=first_start, kind=kind, direction=direction, end=first_end),
               WorkPeriod(start=second_start, kind=kind, direction=direction)]
    if _maybe(draw):  # an overlapping record of days already covered changes nothing
        inner_end = first_start + _days(draw(st.integers(0, first_len - 1)))
        periods.append(WorkPeriod(start=first_start, kind=kind, direction=direction, end=inner_end))
    return tuple(draw(st.permutations(periods)))


@st.composite
def skill_levels(draw: Any, *, as_of: _dt.date | None = None, issued: Issued = "any",
                 digital: bool | None = None, level: SkillLevel | str | None = None,
                 min_level: SkillLevel | str | None = None) -> SkillLevelRecord:
    """A vocational skill level record; ``issued_on`` is sometimes absent (undated: always held)."""
    if level is not None:
        chosen = SkillLevel.parse(level)
    else:
        floor = SkillLevel.parse(min_level).rank if min_level is not None else 1
        chosen = _pick(draw, tuple(s for s in SkillLevel if s.rank >= floor))
    is_digital = _maybe(draw) if digital is None else digital
    occupation = None if _maybe(draw) else draw(_free_text(("工业互联网运维员", "人工智能训练师", "数控车工")))
    issued_on = _draw_issue(draw, as_of, issued, undated=True)
    return SkillLevelRecord(level=chosen, digital=is_digital, occupation=occupation, issued_on=issued_on)


@st.composite
def titles(draw: Any, *, level: TitleLevel | str | None = None, digital: bool | None = None) -> Title:
    """A professional title already held (titles carry no date: always held), at any of the six
    levels (员级 … 正高级, and ``senior`` of unknown grade) unless ``level`` says."""
    chosen = TitleLevel.parse(level) if level is not None else _pick(draw, tuple(TitleLevel))
    is_digital = _maybe(draw) if digital is None else digital
    speciality = None if _maybe(draw) else draw(_free_text(("计算机应用", "软件工程", "机械设计")))
    return Title(level=chosen, digital=is_digital, speciality=speciality)


@st.composite
def achievements(draw: Any, *, as_of: _dt.date | None = None, issued: Issued = "any") -> Achievement:
    """A recorded outstanding achievement (M9-1), sometimes undated (undated counts as held)."""
    description = draw(_free_text(("省级科学技术进步奖二等奖（第一完成人）", "主持国家重点研发计划课题",
                                    "获得发明专利授权3项")))
    return Achievement(description=description, date=_draw_issue(draw, as_of, issued, undated=True))


def _draw_issue(draw: Any, as_of: _dt.date | None, issued: Issued, undated: bool) -> _dt.date | None:
    """The date of a skill level or achievement; None (undated: always held) sometimes."""
    if issued not in ("any", "held", "near_as_of", "after_as_of"):
        raise ValueError(f"issued must be one of any, held, near_as_of, after_as_of; got {issued!r}")
    if issued != "any" and as_of is None:
        raise ValueError(f"issued={issued!r} needs as_of")
    if issued == "near_as_of":
        assert as_of is not None
        return as_of + _days(draw(st.integers(0, 3)))
    if issued == "after_as_of":
        assert as_of is not None
        return as_of + _days(draw(st.integers(1, 800)))
    if undated and draw(st.integers(0, 2)) == 0:
        return None
    if issued == "held":
        assert as_of is not None
        return as_of if _maybe(draw) else _day_between(draw, MIN_DATE, as_of)
    return _day_between(draw, MIN_DATE, MAX_DATE if as_of is None else as_of + _days(366))


# --------------------------------------------------------------------------- the crossover (鲁人社发〔2020〕16号)

#: The crossover's routes (its ``crossover_route`` knob): each route's outcome code, the parameter
#: of its years, and the grade of its title (a title held at that grade or above closes it).
CROSSOVER_ROUTES: dict[str, tuple[str, str, int]] = {
    "assistant_engineer": ("crossover_apply_assistant_engineer", "assistant_engineer_years", 2),
    "engineer": ("crossover_apply_engineer", "engineer_years", 3),
    "senior_engineer": ("crossover_apply_senior_engineer", "senior_engineer_years", 4),
}


def _route(route: str) -> tuple[str, str, int]:
    name = route.removeprefix("crossover_apply_")
    if name not in CROSSOVER_ROUTES:
        raise ValueError(f"crossover_route must be one of {', '.join(CROSSOVER_ROUTES)}; got {route!r}")
    return CROSSOVER_ROUTES[name]


def _crossover_document(ruleset: Ruleset | None) -> Ruleset:
    """The document that counts skilled work per level: ``ruleset`` if it does, else the shipped one."""
    if ruleset is not None and "skilled_work_time" in ruleset.counts:
        return ruleset
    for document in default_policy().documents:
        if "skilled_work_time" in document.counts:
            return document
    raise ValueError("no ruleset document counts skilled work per skill level (the crossover)")


def crossover_route_years(route: str, ruleset: Ruleset | None = None) -> int:
    """The years of skilled work a route asks (2, 3, 4 as shipped), from the crossover document
    (``ruleset`` when it is one, else the shipped crossover)."""
    return int(_crossover_document(ruleset).param(_route(route)[1]))


def crossover_route_levels(route: str, ruleset: Ruleset | None = None) -> tuple[SkillLevel, ...]:
    """The skill levels that open a route, from the crossover document's level → years table."""
    table = _crossover_document(ruleset).counts["skilled_work_time"].parameters["years"]
    return tuple(level for level in SkillLevel if table.get(level.code) == _route(route)[1])


@st.composite
def crossover_work(draw: Any, as_of: _dt.date, years: int) -> tuple[_dt.date, tuple[WorkPeriod, ...]]:
    """``(issued_on, periods)``: the day a skill level was obtained and skilled work whose time
    counted from that day (merged, decision 6) reaches its ``years`` anniversary within three days
    of ``as_of``.

    The work is one ongoing period from the level's date, or one that began before it (the days
    before are not counted), or a finished period and an ongoing one with a gap, laid end to end
    from a virtual start near ``as_of - years``.
    """
    target_start = add_years(as_of, -years) + _days(draw(st.integers(-3, 3)))
    count = (as_of - target_start).days  # days counted up to the day before as_of
    direction = _pick(draw, ("数控加工", "焊接", "电气设备维护", "工业互联网"))
    kind = WorkKind.skilled
    shape = draw(st.integers(0, 2)) if count >= 3 else 0
    if shape == 0:  # ongoing from the level's date
        return target_start, (WorkPeriod(start=target_start, kind=kind, direction=direction),)
    if shape == 1:  # ongoing, begun before the level was obtained: counted from the level's date
        early = target_start - _days(1 if _maybe(draw) else draw(st.integers(1, 3000)))
        return target_start, (WorkPeriod(start=early, kind=kind, direction=direction),)
    second_len = draw(st.integers(1, count - 1))
    gap = draw(st.integers(1, 90))
    second_start = as_of - _days(second_len)
    first_end = second_start - _days(gap + 1)
    first_start = first_end - _days(count - second_len - 1)
    issued_on = first_start
    if _maybe(draw):  # the first period began before the level: those days are not counted
        first_start -= _days(draw(st.integers(1, 400)))
    periods = [WorkPeriod(start=first_start, kind=kind, direction=direction, end=first_end),
               WorkPeriod(start=second_start, kind=kind, direction=direction)]
    return issued_on, tuple(draw(st.permutations(periods)))


# --------------------------------------------------------------------------- applicants

@st.composite
def applicants(draw: Any, *, as_of: DateLike = None, ruleset: Ruleset | None = None,
               max_items: int = 3, near_anniversary: bool = False, leap_day: bool = False,
               issued_near_as_of: bool = False, near_in_force: bool = False,
               intermediate_training: bool = False, held_only: bool = False,
               ongoing_only: bool = False, min_items: int = 0, id: str | None = None,
               crossover_route: str | None = None) -> Applicant:
    """An applicant whose ``as_of`` is set, with ``min_items`` to ``max_items`` items of each kind.

    ``as_of`` is a date, a strategy of dates, or None (then :func:`evaluation_dates` with
    ``near_in_force`` and ``leap_day``).  Knobs:

    * ``intermediate_training``: the applicant holds (on ``as_of``, not revoked) an intermediate
      training certificate of the programme and has professional work in its direction: the
      M9-2d case.
    * ``near_anniversary``: as ``intermediate_training``, and that work reaches its N-year
      anniversary within three days of ``as_of``, possibly split across periods with a gap.
    * ``leap_day``: the evaluation date and the start of work lean to 28/29 Feb and 1 Mar.
    * ``issued_near_as_of``: every certificate is issued on ``as_of`` or up to three days after.
    * ``held_only``: every dated item (certificate, skill level, achievement) is dated on or
      before ``as_of`` and no work period starts after it.
    * ``ongoing_only``: every work period is ongoing (no ``end``).
    * ``crossover_route`` (``"assistant_engineer"``, ``"engineer"`` or ``"senior_engineer"``, or
      the outcome code): the applicant holds, dated on or before ``as_of``, a skill level that
      opens that route of the crossover (鲁人社发〔2020〕16号: 高级工, 技师, 高级技师 and above),
      with skilled work whose time counted from the level's date reaches the route's anniversary
      (2, 3 or 4 years, from the crossover document) within three days of ``as_of``
      (:func:`crossover_work`).  So that the route turns on that anniversary alone, nothing else
      counts towards it: no other skill level of the same route, no other skilled work, no title
      at or above the route's title, and the basic conditions are stated as met or not stated
      (never ``false``).  The years follow ``ruleset`` when it is the crossover document.

    Certificate numbers are unique, as the exchange format requires.
    """
    rs = _rs(ruleset)
    day = _draw_date(draw, as_of, evaluation_dates(ruleset=rs, near_in_force=near_in_force, leap_day=leap_day))
    issued: Issued = "held" if held_only else "any"
    cert_issued: Issued = "near_as_of" if issued_near_as_of else issued

    certs: list[Certificate] = []
    periods: list[WorkPeriod] = []
    if intermediate_training or near_anniversary:
        direction = _draw_direction(draw, rs, True)
        certs.append(draw(certificates(as_of=day, issued="near_as_of" if issued_near_as_of else "held",
                                       programme=DTE_PROGRAMME, kind=CertificateKind.training,
                                       level=Level.intermediate, direction=direction, revoked=False)))
        if near_anniversary:
            periods.extend(draw(_split_work(day, direction, rs)))
        else:
            periods.append(draw(work_periods(as_of=day, kind=WorkKind.professional_technical,
                                             direction=direction, leap_day=leap_day, ruleset=rs,
                                             ongoing=True if ongoing_only else None)))
        if ongoing_only:
            periods = [p if p.end is None else WorkPeriod(p.start, p.kind, p.direction, None, p.employer)
                       for p in periods]

    route_levels: tuple[SkillLevel, ...] = ()
    route_level: SkillLevelRecord | None = None
    route_grade = 0
    if crossover_route is not None:
        _, _, route_grade = _route(crossover_route)
        route_levels = crossover_route_levels(crossover_route, ruleset)
        issued_on, work = draw(crossover_work(day, crossover_route_years(crossover_route, ruleset)))
        occupation = None if _maybe(draw) else draw(_free_text(("数控车工", "焊工", "工业互联网运维员")))
        route_level = SkillLevelRecord(level=_pick(draw, route_levels), digital=_maybe(draw),
                                       occupation=occupation, issued_on=issued_on)
        periods.extend(work)

    size = {"min_size": min_items, "max_size": max(min_items, max_items)}
    certs.extend(draw(st.lists(certificates(as_of=day, issued=cert_issued, leap_day=leap_day), **size)))
    extra_periods = draw(st.lists(work_periods(as_of=day, leap_day=leap_day, ruleset=rs,
                                               ongoing=True if ongoing_only else None),
                                  **size))
    if near_anniversary:  # keep the edge: no other work counts towards the same merged time
        extra_periods = [p for p in extra_periods
                         if (p.kind, p.direction) != (WorkKind.professional_technical, direction)]
    if crossover_route is not None:  # keep the edge: no other skilled work counts towards the route
        extra_periods = [p for p in extra_periods if p.kind is not WorkKind.skilled]
    periods.extend(extra_periods)
    if held_only:
        periods = [p for p in periods if p.start <= day]
    # Unique numbers, as the exchange format requires: a repeated number gets a suffix.
    seen: set[str] = set()
    unique_certs = []
    for cert in certs:
        number = cert.number
        while number in seen:
            number += "-2"
        seen.add(number)
        unique_certs.append(cert if number == cert.number else attrs.evolve(cert, number=number))

    # Drawn in the same order with or without the crossover knob, so that the knob leaves the
    # other applicants (and the examples a derandomized run tries) as they were.
    applicant = Applicant(
        id=id if id is not None else draw(_identifier("A-")),
        as_of=day,
        certificates=tuple(draw(st.permutations(unique_certs))),
        work_periods=tuple(draw(st.permutations(periods))),
        skill_levels=tuple(draw(st.lists(skill_levels(as_of=day, issued=issued), **size))),
        titles=tuple(draw(st.lists(titles(), **size))),
        achievements=tuple(draw(st.lists(achievements(as_of=day, issued=issued), **size))),
    )
    if route_level is None:
        return applicant
    # keep the edge: nothing else opens or closes the route
    levels = [s for s in applicant.skill_levels if s.level not in route_levels] + [route_level]
    return attrs.evolve(
        applicant,
        skill_levels=tuple(draw(st.permutations(levels))),
        titles=tuple(t for t in applicant.titles if t.level.grade < route_grade),
        appraisals_passed=None if _maybe(draw) else True,
        continuing_education_done=None if _maybe(draw) else True,
    )


def applicants_at_edges(*, ruleset: Ruleset | None = None, max_items: int = 3) -> SearchStrategy[Applicant]:
    """Applicants from every edge knob of :func:`applicants` in turn, plus unsteered ones."""
    return st.one_of(
        applicants(ruleset=ruleset, max_items=max_items),
        applicants(ruleset=ruleset, max_items=max_items, intermediate_training=True),
        applicants(ruleset=ruleset, max_items=max_items, near_anniversary=True),
        applicants(ruleset=ruleset, max_items=max_items, near_anniversary=True, leap_day=True),
        applicants(ruleset=ruleset, max_items=max_items, leap_day=True, intermediate_training=True),
        applicants(ruleset=ruleset, max_items=max_items, issued_near_as_of=True),
        applicants(ruleset=ruleset, max_items=max_items, near_in_force=True),
        *(applicants(ruleset=ruleset, max_items=max_items, crossover_route=route) for route in CROSSOVER_ROUTES),
    )


# --------------------------------------------------------------------------- exchange dicts

def _spellings(enum_cls: type, code: str) -> list[str]:
    member = enum_cls.parse(code)
    return sorted({member.code, member.zh, member.en, member.en.upper()})


def _direction_spellings(name: str) -> list[str]:
    """A programme direction's accepted spellings: its name, its English name in three forms."""
    zh, en = default_policy().labels.get(name, (name, name))
    return sorted({name, zh, en, en.upper(), en.replace(" ", "_")})


_ENUM_FIELDS = {
    "certificates": {"kind": CertificateKind, "level": Level},
    "work_periods": {"kind": WorkKind},
    "skill_levels": {"level": SkillLevel},
    "titles": {"level": TitleLevel},
    "candidates": {"skill_level": SkillLevel},
}
_OPTIONAL_DEFAULTS = {
    "certificates": {"revoked": False},
    "work_periods": {"end": None, "employer": None},
    "skill_levels": {"occupation": None, "issued_on": None},
    "titles": {"speciality": None},
    "achievements": {"date": None},
    "candidates": {"name": None},
}


def _respell(draw: Any, record: dict[str, Any]) -> dict[str, Any]:
    """Other accepted spellings of enum values and programme, defaulted optional fields left out."""
    out = copy.deepcopy(record)
    for key, items in out.items():
        if not isinstance(items, list):
            continue
        for item in items:
            for name, enum_cls in _ENUM_FIELDS.get(key, {}).items():
                item[name] = _pick(draw, _spellings(enum_cls, item[name]))
            if key == "certificates":
                item["direction"] = _pick(draw, _direction_spellings(item["direction"]))
            for name, default in _OPTIONAL_DEFAULTS.get(key, {}).items():
                if name in item and item[name] == default and _maybe(draw):
                    del item[name]
            if key == "certificates" and item["programme"] == DTE_PROGRAMME:
                item["programme"] = _pick(draw, (DTE_PROGRAMME, "数字技术工程师培育项目"))
    if out.get("as_of") is None and "as_of" in out and _maybe(draw):
        del out["as_of"]
    return out


@st.composite
def applicant_dicts(draw: Any, *, aliases: bool = False, **knobs: Any) -> dict[str, Any]:
    """Exchange-format applicant dicts, JSON-ready (``json.dumps`` works on them).

    ``knobs`` are those of :func:`applicants`.  With ``aliases`` the dicts use the other
    spellings the library accepts (Chinese and English names of enum values, the programme's
    Chinese name) and leave out optional fields that have their default value.
    """
    record = applicant_to_dict(draw(applicants(**knobs)))
    return _respell(draw, record) if aliases else record


@st.composite
def recommendation_list_dicts(draw: Any, *, aliases: bool = False, **knobs: Any) -> dict[str, Any]:
    """Exchange-format recommendation lists, JSON-ready; ``knobs`` as :func:`recommendation_lists`."""
    record = recommendation_list_to_dict(draw(recommendation_lists(**knobs)))
    return _respell(draw, record) if aliases else record


# --------------------------------------------------------------------------- recommendation lists (M9-4)

@st.composite
def candidates(draw: Any, *, digital: bool | None = None, high_skilled: bool | None = None,
               id: str | None = None, ruleset: Ruleset | None = None) -> Candidate:
    """One candidate of a recommendation list; high-skilled (the ruleset's ``high_skilled_from``,
    高级工, or above) three times in four."""
    if high_skilled is None:
        high_skilled = draw(st.integers(0, 3)) < 3
    threshold = _rs(ruleset).param("high_skilled_from").rank
    pool = tuple(s for s in SkillLevel if (s.rank >= threshold) == high_skilled)
    return Candidate(
        id=id if id is not None else draw(_identifier("C-")),
        skill_level=_pick(draw, pool),
        digital=_maybe(draw) if digital is None else digital,
        name=None if _maybe(draw) else _pick(draw, ("张伟", "王芳", "李娜", "刘洋")),
    )


def quota_threshold(total: int, ruleset: Ruleset | None = None) -> int:
    """The fewest digital candidates that meet the quota on a list of ``total`` (exact arithmetic)."""
    share = _rs(ruleset).param("quota_share")
    return math.ceil(total * share)


@st.composite
def recommendation_lists(draw: Any, *, near_quota: bool = False, min_size: int = 1, max_size: int = 30,
                         ruleset: Ruleset | None = None, unit: str | None = None,
                         as_of: DateLike = None, high_skilled: bool | None = None,
                         unique_ids: bool = True) -> RecommendationList:
    """A recommendation list of one unit with ``min_size`` to ``max_size`` candidates.

    With ``near_quota`` the number of digital candidates is the smallest count that meets the
    ruleset's quota share, or one fewer, or one more, and the size is a multiple of the share's
    denominator half of the time (so that the share is exactly 20% at the boundary: 3 of 15).
    ``high_skilled`` forces every candidate to be (or not be) a high-skilled talent.
    Candidate ids are unique unless ``unique_ids=False`` (then ids repeat: a finding, not bad input).
    """
    if min_size < 1:
        raise ValueError("a recommendation list has at least one candidate (min_size >= 1)")
    rs = _rs(ruleset)
    denominator = rs.param("quota_share").denominator
    multiples = [n for n in range(min_size, max_size + 1) if n % denominator == 0]
    sizes = st.integers(min_size, max_size)
    total = draw(st.one_of(sizes, st.sampled_from(multiples)) if near_quota and multiples else sizes)
    if near_quota:
        digital_count = min(total, max(0, quota_threshold(total, rs) + _pick(draw, (0, -1, 1, 0))))
    else:
        digital_count = draw(st.integers(0, total))
    flags = [True] * digital_count + [False] * (total - digital_count)
    if unique_ids:
        ids = draw(st.one_of(
            st.just([f"C-{i + 1:03d}" for i in range(total)]),
            st.lists(_identifier("C-"), min_size=total, max_size=total, unique=True)))
    else:
        ids = draw(st.lists(st.sampled_from(("C-001", "C-002", "C-003")), min_size=total, max_size=total))
    people = [draw(candidates(digital=flag, high_skilled=high_skilled, id=ident))
              for flag, ident in zip(flags, ids)]
    day = None if as_of is None else _draw_date(draw, as_of, evaluation_dates(ruleset=rs))
    return RecommendationList(unit=unit if unit is not None else _pick(draw, TAIAN_UNITS),
                              candidates=tuple(draw(st.permutations(people))), as_of=day)


# --------------------------------------------------------------------------- invalid records

_BAD_DATES = ("2023-02-29", "2025-02-30", "2025-13-01", "2025-00-10", "2025-04-31", "2025-6-1",
              "20250601", "2025/06/01", "", "yesterday", "2025-06-01T00:00:00")
_BAD_ENUM = ("expert", "特级", "", "7", "senior-ish", "professional", "高级工程师", "None")
_REQUIRED = {
    "certificates": ("number", "programme", "kind", "level", "direction", "issued_on"),
    "work_periods": ("start", "kind", "direction"),
    "skill_levels": ("level", "digital"),
    "titles": ("level", "digital"),
    "achievements": ("description",),
}
_DATE_FIELDS = {
    "certificates": ("issued_on",),
    "work_periods": ("start", "end"),
    "skill_levels": ("issued_on",),
    "achievements": ("date",),
}
_STR_FIELDS = {
    "certificates": ("number", "programme"),
    "work_periods": ("employer",),
    "skill_levels": ("occupation",),
    "titles": ("speciality",),
    "achievements": ("description",),
}
_BOOL_FIELDS = {
    "certificates": ("revoked",),
    "skill_levels": ("digital",),
    "titles": ("digital",),
}
_NON_EMPTY_FIELDS = {"certificates": ("number",), "achievements": ("description",)}


def _not_an_object() -> SearchStrategy[Any]:
    return st.one_of(st.integers(), st.text(max_size=5), st.booleans(), st.none(), st.just([]))


def _not_a_string() -> SearchStrategy[Any]:
    return st.one_of(st.integers(), st.booleans(), st.just([]), st.just({}), st.floats(allow_nan=False))


def _not_a_bool() -> SearchStrategy[Any]:
    return st.one_of(st.integers(0, 1), st.sampled_from(("true", "false", "yes", "是")), st.none())


def _bad_enum(enum_cls: type) -> SearchStrategy[Any]:
    def unparseable(value: Any) -> bool:
        try:
            enum_cls.parse(value)
        except (ValueError, TypeError):
            return True
        return False

    return st.one_of(st.sampled_from(_BAD_ENUM), st.text(max_size=8), st.integers(), st.none()).filter(unparseable)


#: The kinds of fault :func:`invalid_applicant_dicts` can put in a record (its ``faults=`` knob).
APPLICANT_FAULTS = (
    # the record itself
    "missing_id", "empty_id", "bad_as_of", "unknown_top_field", "list_not_array",
    # one item of one list
    "missing_field", "unknown_item_field", "item_not_object", "bad_date", "wrong_type_str", "bad_enum",
    "wrong_type_bool", "blank_identity",
    # across fields and items
    "senior_training", "duplicate_number", "end_before_start",
)
_TOP_FAULTS = APPLICANT_FAULTS[:5]
_ITEM_FAULTS = {"bad_date": _DATE_FIELDS, "wrong_type_str": _STR_FIELDS, "bad_enum": _ENUM_FIELDS,
                "wrong_type_bool": _BOOL_FIELDS, "blank_identity": _NON_EMPTY_FIELDS}


def _item_fault_keys(fault: str, filled: Sequence[str]) -> list[str]:
    if fault in ("missing_field", "unknown_item_field", "item_not_object"):
        return list(filled)
    return [key for key in filled if key in _ITEM_FAULTS[fault]]


@st.composite
def _applicant_fault(draw: Any, record: dict[str, Any], faults: Sequence[str]) -> tuple[dict[str, Any], str]:
    """Apply one fault (one of ``faults``) to a valid applicant dict; return it and the fault's path."""
    rec = copy.deepcopy(record)
    filled = [key for key in _REQUIRED if rec.get(key)]
    certs = rec.get("certificates") or []
    possible = {
        "senior_training": bool(certs),
        "duplicate_number": len(certs) >= 2,
        "end_before_start": any(w.get("end") is not None for w in rec.get("work_periods") or []),
    }
    groups = [
        [f for f in faults if f in _TOP_FAULTS],
        [f for f in faults if f not in _TOP_FAULTS and f not in possible and _item_fault_keys(f, filled)],
        [f for f in faults if possible.get(f)],
    ]
    groups = [g for g in groups if g]
    if not groups:
        reject()  # this record cannot carry any of the faults asked for
    # Two steps (group, then fault) so that every kind of fault turns up often.
    fault = _pick(draw, _pick(draw, groups))

    if fault == "missing_id":
        del rec["id"]
        return rec, "id"
    if fault == "empty_id":
        rec["id"] = draw(st.sampled_from(("", " ", "\t")) | _not_a_string())
        return rec, "id"
    if fault == "bad_as_of":
        rec["as_of"] = draw(st.sampled_from(_BAD_DATES) | st.integers() | st.booleans())
        return rec, "as_of"
    if fault == "unknown_top_field":
        rec[draw(st.sampled_from(("certificate", "姓名", "workPeriods", "备注")))] = draw(st.text(max_size=5))
        return rec, "$"
    if fault == "list_not_array":
        key = draw(st.sampled_from(sorted(_REQUIRED)))
        rec[key] = draw(st.one_of(st.just({}), st.text(max_size=5), st.integers()))
        return rec, key

    if fault == "senior_training":
        index = draw(st.integers(0, len(certs) - 1))
        certs[index]["kind"] = "training"
        certs[index]["level"] = "senior"
        return rec, f"certificates[{index}].level"
    if fault == "duplicate_number":
        first, second = sorted(draw(st.lists(st.integers(0, len(certs) - 1), min_size=2, max_size=2,
                                             unique=True)))
        certs[second]["number"] = certs[first]["number"]
        return rec, f"certificates[{second}].number"
    if fault == "end_before_start":
        ended = [i for i, w in enumerate(rec["work_periods"]) if w.get("end") is not None]
        index = draw(st.sampled_from(ended))
        period = rec["work_periods"][index]
        start = _dt.date.fromisoformat(period["start"])
        if start == _dt.date.min:
            start += _days(1)
            period["start"] = start.isoformat()
        period["end"] = (start - _days(draw(st.integers(1, 400)))).isoformat()
        return rec, f"work_periods[{index}].end"

    # A fault of one item of one list.
    key = _pick(draw, _item_fault_keys(fault, filled))
    index = draw(st.integers(0, len(rec[key]) - 1))
    item = rec[key][index]
    where = f"{key}[{index}]"
    if fault == "item_not_object":
        rec[key][index] = draw(_not_an_object())
        return rec, where
    if fault == "unknown_item_field":
        item[draw(st.sampled_from(("extra", "note", "Level", "证书")))] = draw(st.text(max_size=5))
        return rec, where
    if fault == "missing_field":
        name = draw(st.sampled_from(_REQUIRED[key]))
        del item[name]
        return rec, f"{where}.{name}"
    if fault == "bad_date":
        name = draw(st.sampled_from(_DATE_FIELDS[key]))
        item[name] = draw(st.sampled_from(_BAD_DATES) | st.integers() | st.booleans() | st.just([]))
        return rec, f"{where}.{name}"
    if fault == "wrong_type_str":
        name = draw(st.sampled_from(_STR_FIELDS[key]))
        item[name] = draw(_not_a_string())
        return rec, f"{where}.{name}"
    if fault == "bad_enum":
        name = draw(st.sampled_from(sorted(_ENUM_FIELDS[key])))
        item[name] = draw(_bad_enum(_ENUM_FIELDS[key][name]))
        return rec, f"{where}.{name}"
    if fault == "wrong_type_bool":
        name = draw(st.sampled_from(_BOOL_FIELDS[key]))
        item[name] = draw(_not_a_bool())
        return rec, f"{where}.{name}"
    # blank_identity
    name = draw(st.sampled_from(_NON_EMPTY_FIELDS[key]))
    item[name] = draw(st.sampled_from(("", " ", "\u3000", "\n")))
    return rec, f"{where}.{name}"


@st.composite
def invalid_applicant_dicts(draw: Any, *, faults: Sequence[str] = APPLICANT_FAULTS,
                            **knobs: Any) -> tuple[dict[str, Any], str]:
    """``(record, path)``: an exchange-format applicant dict with exactly one fault, and its path.

    The faults: a required field missing; an unknown field (path of the record, ``$`` at the top);
    an enum value not allowed; an impossible or malformed date; a value of the wrong JSON type;
    a blank identity (``id``, ``number``, ``description``); a list that is not an array or an
    item that is not an object; an ``end`` before its ``start``; a duplicate certificate number
    (path of the later one); a training certificate at senior level.  ``faults`` narrows them to
    some of :data:`APPLICANT_FAULTS`; ``knobs`` are those of :func:`applicants`.
    """
    unknown = set(faults) - set(APPLICANT_FAULTS)
    if unknown or not faults:
        raise ValueError(f"faults must be some of {', '.join(APPLICANT_FAULTS)}; got {sorted(unknown) or 'none'}")
    knobs.setdefault("max_items", 2)
    knobs.setdefault("min_items", 1)
    record = applicant_to_dict(draw(applicants(**knobs)))
    return draw(_applicant_fault(record, tuple(faults)))


@st.composite
def invalid_recommendation_list_dicts(draw: Any, **knobs: Any) -> tuple[dict[str, Any], str]:
    """``(record, path)``: a recommendation-list dict with exactly one fault, and its path."""
    knobs.setdefault("max_size", 6)
    rec = recommendation_list_to_dict(draw(recommendation_lists(**knobs)))
    people = rec["candidates"]
    index = draw(st.integers(0, len(people) - 1))
    fault = draw(st.sampled_from(("empty", "missing_unit", "blank_unit", "not_array", "missing_field",
                                  "bad_level", "bad_digital", "not_object", "unknown_field", "bad_as_of")))
    if fault == "empty":
        rec["candidates"] = []
        return rec, "candidates"
    if fault == "missing_unit":
        del rec["unit"]
        return rec, "unit"
    if fault == "blank_unit":
        rec["unit"] = draw(st.sampled_from(("", " ")) | _not_a_string())
        return rec, "unit"
    if fault == "not_array":
        rec["candidates"] = draw(st.one_of(st.just({}), st.text(max_size=5), st.integers()))
        return rec, "candidates"
    if fault == "bad_as_of":
        rec["as_of"] = draw(st.sampled_from(_BAD_DATES))
        return rec, "as_of"
    where = f"candidates[{index}]"
    if fault == "not_object":
        people[index] = draw(_not_an_object())
        return rec, where
    if fault == "unknown_field":
        people[index]["extra"] = 1
        return rec, where
    if fault == "missing_field":
        name = draw(st.sampled_from(("id", "skill_level", "digital")))
        del people[index][name]
        return rec, f"{where}.{name}"
    if fault == "bad_level":
        people[index]["skill_level"] = draw(_bad_enum(SkillLevel))
        return rec, f"{where}.skill_level"
    people[index]["digital"] = draw(_not_a_bool())
    return rec, f"{where}.digital"
