"""The domain model: what an applicant holds, and what a recommending unit recommends.

Every class is a frozen attrs value object.  Every enumeration carries its code (the
exchange-format spelling), its Chinese name and its English name, and accepts any of the
three on input (``Level.parse("中级") is Level.intermediate``).

Nothing here knows about JSON (see :mod:`taian_titles.exchange`) or about the rules
(see the ruleset file and :mod:`taian_titles.engine`).
"""

from __future__ import annotations

import datetime as _dt
import enum
from typing import Any, Self, cast

import attrs

from .errors import BadType, BadValue, Words

__all__ = [
    "DTE_PROGRAMME",
    "Labelled",
    "FieldError",
    "CertificateKind",
    "Level",
    "TitleLevel",
    "WorkKind",
    "SkillLevel",
    "Certificate",
    "WorkPeriod",
    "SkillLevelRecord",
    "Title",
    "Achievement",
    "Applicant",
    "Candidate",
    "RecommendationList",
    "label",
    "labels",
]

#: Code of the national Digital Technology Engineer programme (数字技术工程师培育项目).
DTE_PROGRAMME = "digital_technology_engineer"
DTE_PROGRAMME_ALIASES = ("数字技术工程师培育项目", "数字技术工程师", "digital technology engineer")


_SPELLINGS: dict[type, dict[str, Any]] = {}
_RANKS: dict[type, dict[Any, int]] = {}


class Labelled(enum.Enum):
    """An enumeration whose members carry (code, Chinese name, English name)."""

    def __new__(cls, code: str, zh: str, en: str, *extra: Any) -> "Labelled":
        member = object.__new__(cls)
        member._value_ = code
        member.code = code  # type: ignore[attr-defined]  # the exchange-format spelling (= value)
        member.zh = zh  # type: ignore[attr-defined]
        member.en = en  # type: ignore[attr-defined]
        return member

    @property
    def rank(self) -> int:
        """Place in the declared order, from 1 (初级; 学徒工 … 8 首席技师)."""
        ranks = _RANKS.get(type(self))
        if ranks is None:
            ranks = _RANKS[type(self)] = {member: n for n, member in enumerate(type(self), 1)}
        return ranks[self]

    @classmethod
    def parse(cls, text: Any) -> Self:
        """Accept the code, the Chinese name or the English name (case-insensitive)."""
        if isinstance(text, cls):
            return text
        if not isinstance(text, str):
            raise BadType(Words("a string", "字符串"), text, allowed=[(m.code, m.zh) for m in cls])
        spellings = cls.spellings()
        member = spellings.get(text) or spellings.get(text.strip().lower())
        if member is None:
            raise BadValue("unknown_value", value=repr(text), allowed=[(m.code, m.zh) for m in cls])
        return cast(Self, member)

    @classmethod
    def spellings(cls) -> dict[str, "Labelled"]:
        """Every accepted spelling (code, Chinese, English, and their lower case) → member."""
        spellings = _SPELLINGS.get(cls)
        if spellings is None:
            spellings = _SPELLINGS[cls] = cls._spellings()
        return spellings

    @classmethod
    def _spellings(cls) -> dict[str, "Labelled"]:
        table: dict[str, Labelled] = {}
        for member in cls:
            for spelling in (member.code, member.zh, member.en):
                table.setdefault(spelling, member)
                table.setdefault(spelling.lower(), member)
        return table

    @classmethod
    def allowed(cls) -> str:
        return ", ".join(m.code for m in cls)

    def __str__(self) -> str:
        return self.code


class CertificateKind(Labelled):
    """The two certificates of the Digital Technology Engineer programme (decision 3)."""

    professional_level = ("professional_level", "专业技术等级证书", "professional-technical level certificate")
    training = ("training", "培训合格证书", "training-completion certificate")


class Level(Labelled):
    """Level of a programme certificate or of a professional title (职称)."""

    junior = ("junior", "初级", "junior")
    intermediate = ("intermediate", "中级", "intermediate")
    senior = ("senior", "高级", "senior")


class TitleLevel(Labelled):
    """Level of a professional title (职称) held: 员级 and 助理级 (the two junior grades), 中级, 副高级
    and 正高级 (the two senior grades), or ``senior`` for a senior title of unknown grade."""

    entry = ("entry", "员级", "entry level")
    junior = ("junior", "初级", "junior")
    intermediate = ("intermediate", "中级", "intermediate")
    deputy_senior = ("deputy_senior", "副高级", "deputy senior")
    full_senior = ("full_senior", "正高级", "full senior")
    senior = ("senior", "高级", "senior")

    @classmethod
    def _spellings(cls) -> dict[str, "Labelled"]:
        table = super()._spellings()
        for spelling, code in (("助理级", "junior"), ("技术员", "entry"), ("助理工程师", "junior"),
                               ("工程师", "intermediate"), ("高级工程师", "deputy_senior"),
                               ("正高级工程师", "full_senior")):
            table.setdefault(spelling, cls(code))
        return table

    @property
    def grade(self) -> int:
        """员级 1 < 助理级 2 < 中级 3 < 副高级 4 = 高级 of unknown grade 4 < 正高级 5."""
        return {"entry": 1, "junior": 2, "intermediate": 3, "deputy_senior": 4, "senior": 4,
                "full_senior": 5}[self.code]


class WorkKind(Labelled):
    professional_technical = ("professional_technical", "专业技术工作", "professional-technical work")
    skilled = ("skilled", "技能工作", "skilled work")


class SkillLevel(Labelled):
    """The eight vocational skill levels of the 新八级工 system (人社部发〔2022〕14号), in order."""

    apprentice = ("apprentice", "学徒工", "apprentice")
    junior_worker = ("junior_worker", "初级工", "junior worker")
    intermediate_worker = ("intermediate_worker", "中级工", "intermediate worker")
    senior_worker = ("senior_worker", "高级工", "senior worker")
    technician = ("technician", "技师", "technician")
    senior_technician = ("senior_technician", "高级技师", "senior technician")
    special_technician = ("special_technician", "特级技师", "special technician")
    chief_technician = ("chief_technician", "首席技师", "chief technician")

    def __lt__(self, other: "SkillLevel") -> bool:
        if not isinstance(other, SkillLevel):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: "SkillLevel") -> bool:
        if not isinstance(other, SkillLevel):
            return NotImplemented
        return self.rank <= other.rank


def _programme(value: str) -> str:
    text = value.strip()
    if text == DTE_PROGRAMME or text.lower() in DTE_PROGRAMME_ALIASES or text in DTE_PROGRAMME_ALIASES:
        return DTE_PROGRAMME
    return text


class FieldError(BadValue):
    """An invariant of a value object broken by one of its fields: the problem ``code`` (of
    :data:`taian_titles.errors.MESSAGES`) at ``field``."""

    def __init__(self, field: str, code: str, **params: Any) -> None:
        super().__init__(code, **params)
        self.field = field
        self.args = (f"{field}: {self.message}",)


def senior_training() -> FieldError:
    """Decision 3: a training certificate at senior level does not exist."""
    return FieldError("level", "senior_training_certificate", value="'senior'",
                      allowed=[(m.code, m.zh) for m in (Level.junior, Level.intermediate)])


def end_before_start(end: _dt.date, start: _dt.date) -> FieldError:
    """A work period that ends before it starts."""
    return FieldError("end", "end_before_start", end=end.isoformat(), start=start.isoformat())


@attrs.frozen
class Certificate:
    """A certificate of the Digital Technology Engineer programme, or of another programme."""

    number: str
    programme: str = attrs.field(converter=_programme)
    kind: CertificateKind = attrs.field(converter=CertificateKind.parse)
    level: Level = attrs.field(converter=Level.parse)
    direction: str = attrs.field(converter=str.strip)
    issued_on: _dt.date
    revoked: bool = False

    @level.validator
    def _no_senior_training(self, attribute: Any, value: Level) -> None:
        if self.kind is CertificateKind.training and value is Level.senior:
            raise senior_training()

    @property
    def is_programme(self) -> bool:
        return self.programme == DTE_PROGRAMME


@attrs.frozen
class WorkPeriod:
    """A period of work; ``end`` is None while it is ongoing.  Both ends are included."""

    start: _dt.date
    kind: WorkKind = attrs.field(converter=WorkKind.parse)
    direction: str = attrs.field(converter=str.strip)
    end: _dt.date | None = attrs.field(default=None)
    employer: str | None = None

    @end.validator
    def _end_after_start(self, attribute: Any, value: _dt.date | None) -> None:
        if value is not None and value < self.start:
            raise end_before_start(value, self.start)

    @property
    def ongoing(self) -> bool:
        return self.end is None


@attrs.frozen
class SkillLevelRecord:
    """A vocational skill level (职业技能等级) held, in a digital occupation or not."""

    level: SkillLevel = attrs.field(converter=SkillLevel.parse)
    digital: bool
    occupation: str | None = None
    issued_on: _dt.date | None = None


@attrs.frozen
class Title:
    """A professional title (职称) already held."""

    level: TitleLevel = attrs.field(converter=TitleLevel.parse)
    digital: bool
    speciality: str | None = None


@attrs.frozen
class Achievement:
    """A recorded outstanding achievement (业绩成果), the input of M9-1."""

    description: str
    date: _dt.date | None = None


@attrs.frozen
class Applicant:
    id: str
    as_of: _dt.date | None = None
    name: str | None = None
    # The crossover's basic conditions (鲁人社发〔2020〕16号), when the record states them: the last
    # three annual appraisals passed, continuing education done.  None: not stated.
    appraisals_passed: bool | None = None
    continuing_education_done: bool | None = None
    certificates: tuple[Certificate, ...] = ()
    work_periods: tuple[WorkPeriod, ...] = ()
    skill_levels: tuple[SkillLevelRecord, ...] = ()
    titles: tuple[Title, ...] = ()
    achievements: tuple[Achievement, ...] = ()
    #: The caller's own fields (an employee number, a county), returned unchanged in the result.
    meta: dict[str, Any] | None = attrs.field(default=None, eq=False)


@attrs.frozen
class Candidate:
    """One person on a recommendation list for the Daizong Talent Project (M9-4)."""

    id: str
    skill_level: SkillLevel = attrs.field(converter=SkillLevel.parse)
    digital: bool
    name: str | None = None


@attrs.frozen
class RecommendationList:
    unit: str
    candidates: tuple[Candidate, ...]
    as_of: _dt.date | None = None
    #: The caller's own fields, returned unchanged in the result.
    meta: dict[str, Any] | None = attrs.field(default=None, eq=False)


def labels() -> dict[str, tuple[str, str]]:
    """Every enumeration code with its Chinese and English name (the policy adds its own)."""
    return dict(_LABELS)


def label(code: str, lang: str) -> str | None:
    """The Chinese or English name of an enumeration code, or None if it is no code."""
    entry = _LABELS.get(code)
    if entry is None:
        return None
    return entry[0] if lang == "zh" else entry[1]


def _build_labels() -> dict[str, tuple[str, str]]:
    labels: dict[str, tuple[str, str]] = {}
    for enum_cls in (CertificateKind, Level, TitleLevel, WorkKind, SkillLevel):
        for member in enum_cls:
            pair = (member.zh, member.en)
            if labels.setdefault(member.code, pair) != pair:  # pragma: no cover - guarded by a test
                raise AssertionError(f"code {member.code} has two labellings")
    labels[DTE_PROGRAMME] = ("数字技术工程师培育项目", "Digital Technology Engineer programme")
    return labels


_LABELS = _build_labels()
