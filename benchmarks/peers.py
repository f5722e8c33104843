"""Measure nine in two other rule engines, for ``bench_peers`` only: GoRules ZEN and experta.

Both decide the **outcome codes** of measure nine (not the explanations, not-met dates, notes
or highest title) from the **same facts** taian-titles gives its engine: the exchange record is
structured by the library (cattrs), its directions put in the policy's spelling, and its facts
made by :func:`taian_titles.facts.applicant_facts` (ISO dates, merged work time in full years).
That is the "structuring" step; each engine then decides on those facts.  The parameters (the
in-force date, the digital directions, the 3 years, the lowest skill level) are read from the
loaded ruleset when the graph or the rules are built, never written here.

* :class:`Zen`: a JDM decision graph (input → one expression node → output) for ``zen-engine``
  (GoRules ZEN, Rust).  ZEN's expression language compares numbers but not strings, so the
  structuring turns every ISO date into the number YYYYMMDD.
* :class:`Experta`: 13 rules of experta 1.9.4 (a RETE engine in Python, after CLIPS), run in a
  fresh ``reset()`` per applicant.  experta pins ``frozendict==1.2``, which imports
  ``collections.Mapping``, an alias removed in Python 3.10: :func:`experta_shim` puts
  ``collections.abc.Mapping`` back under that name before experta is imported.

Neither is part of the library; the ruleset file is the policy.  ``bench_peers`` checks on every
applicant that both give taian-titles' outcome codes.
"""

from __future__ import annotations

import collections
import collections.abc
import json
from typing import Any, Iterable, Mapping

from taian_titles.exchange import applicant_from_dict
from taian_titles.facts import applicant_facts
from taian_titles.model import Applicant, SkillLevel

__all__ = ["structure", "zen_graph", "Zen", "Experta", "experta_shim"]

_DATES = ("as_of", "issued_on", "date", "start", "end")
# Title levels at or above the level an outcome recognises or opens (decision 11 of ruleset 1.1):
# a title held there replaces the outcome by a note.
_FROM_JUNIOR = ("junior", "intermediate", "deputy_senior", "senior", "full_senior")
_FROM_INTERMEDIATE = ("intermediate", "deputy_senior", "senior", "full_senior")
_SENIOR_FOR_M91 = ("senior", "full_senior")
_FULL_SENIOR = ("full_senior",)


def structure(record: Applicant | Mapping[str, Any], policy: Any) -> list[dict[str, Any]]:
    """The facts of one applicant, as taian-titles' engine gets them (without the engine)."""
    applicant = record if isinstance(record, Applicant) else applicant_from_dict(record)
    applicant = policy.prepare(applicant)
    return applicant_facts(applicant, applicant.as_of, policy.counts)


def _params(policy: Any) -> dict[str, Any]:
    return {"in_force_from": policy.param("in_force_from"), "required_years": policy.param("required_years"),
            "min_rank": policy.param("min_skill_level").rank, "directions": list(policy.param("digital_directions")),
            "programme": "digital_technology_engineer"}


# --------------------------------------------------------------------------- GoRules ZEN

def _number(iso: str) -> int:
    return int(iso[0:4]) * 10000 + int(iso[5:7]) * 100 + int(iso[8:10])


def zen_input(facts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Facts grouped by type, only the fields the graph tests (as taian-titles' engine is given only
    the fields its conditions test), dates as YYYYMMDD numbers: the input of the ZEN graph."""
    grouped: dict[str, Any] = {"certificate": [], "work_time": [], "skill_level": [], "title": [],
                               "achievement": []}
    for fact in facts:
        kind = fact["t"]
        if kind == "context":
            grouped["as_of"] = _number(fact["as_of"])
        elif kind in grouped:
            item = {k: fact[k] for k in FIELDS[kind] if k in fact}
            for key in _DATES:
                if key in item:
                    item[key] = _number(item[key])
            grouped[kind].append(item)
    return grouped


def _list(values: Iterable[str]) -> str:
    return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"


def zen_graph(policy: Any) -> dict[str, Any]:
    """A JDM graph deciding measure nine's outcome codes (``codes``, a list) from :func:`zen_input`."""
    p = _params(policy)
    in_force = _number(p["in_force_from"].isoformat())
    expressions = [
        ("in_force", f"as_of >= {in_force}"),
        ("held", f"$.in_force ? filter(certificate, #.programme == '{p['programme']}' and #.revoked == false "
                 "and #.issued_on <= as_of) : []"),
        ("titles", "$.in_force ? map(title, #.level) : []"),
        ("talent", f"len($.held) > 0 or ($.in_force and (some(title, #.digital == true) or some(work_time, "
                   f"#.kind == 'professional_technical' and #.direction in {_list(p['directions'])} "
                   "and #.covered_days > 0)))"),
        ("achieved", "$.in_force and some(achievement, #.date <= as_of)"),
        ("met_directions", f"map(filter(work_time, #.kind == 'professional_technical' and "
                           f"#.full_years >= {p['required_years']}), #.direction)"),
        ("m91", f"$.talent and $.achieved and not some($.titles, # in {_list(_SENIOR_FOR_M91)})"),
        ("m92a_junior", "some($.held, #.kind == 'professional_level' and #.level == 'junior') and "
                        f"not some($.titles, # in {_list(_FROM_JUNIOR)})"),
        ("m92a_intermediate", "some($.held, #.kind == 'professional_level' and #.level == 'intermediate') and "
                              f"not some($.titles, # in {_list(_FROM_INTERMEDIATE)})"),
        ("m92b", "some($.held, #.kind == 'professional_level' and #.level == 'senior') and "
                 f"not some($.titles, # in {_list(_FULL_SENIOR)})"),
        ("m92c", "some($.held, #.kind == 'training' and #.level == 'junior') and "
                 f"not some($.titles, # in {_list(_FROM_JUNIOR)})"),
        ("m92d", "some(map(filter($.held, #.kind == 'training' and #.level == 'intermediate'), #.direction), "
                 f"# in $.met_directions) and not some($.titles, # in {_list(_FROM_INTERMEDIATE)})"),
        ("m93a", f"$.in_force and some(skill_level, #.digital == true and #.issued_on <= as_of and "
                 f"#.rank >= {p['min_rank']})"),
        ("codes", "filter(["
                  "$.m91 ? 'apply_senior_title_exceptional' : null, "
                  "$.m92a_junior ? 'recognize_junior_title' : null, "
                  "$.m92a_intermediate ? 'recognize_intermediate_title' : null, "
                  "$.m92b ? 'senior_achievement_condition' : null, "
                  "$.m92c ? 'apply_junior_title' : null, "
                  "$.m92d ? 'apply_intermediate_title' : null, "
                  "$.m93a ? 'skilled_may_apply_title' : null, "
                  "$.talent ? 'technical_may_apply_skill_level' : null], # != null)"),
    ]
    return {
        "nodes": [
            {"id": "request", "type": "inputNode", "name": "Request", "position": {"x": 0, "y": 0}},
            {"id": "measure9", "type": "expressionNode", "name": "measure nine", "position": {"x": 300, "y": 0},
             "content": {"expressions": [{"id": key, "key": key, "value": value} for key, value in expressions]}},
            {"id": "response", "type": "outputNode", "name": "Response", "position": {"x": 600, "y": 0}},
        ],
        "edges": [
            {"id": "e1", "sourceId": "request", "targetId": "measure9", "type": "edge"},
            {"id": "e2", "sourceId": "measure9", "targetId": "response", "type": "edge"},
        ],
    }


class Zen:
    """The ZEN graph of :func:`zen_graph`, compiled once."""

    def __init__(self, policy: Any) -> None:
        import zen

        self.policy = policy
        self.engine = zen.ZenEngine()
        self.decision = self.engine.create_decision(json.dumps(zen_graph(policy), ensure_ascii=False))

    def structure(self, record: Applicant | Mapping[str, Any]) -> dict[str, Any]:
        return zen_input(structure(record, self.policy))

    def evaluate(self, structured: Mapping[str, Any]) -> list[str]:
        return list(self.decision.evaluate(structured)["result"]["codes"])

    def codes(self, record: Applicant | Mapping[str, Any]) -> list[str]:
        return self.evaluate(self.structure(record))


# --------------------------------------------------------------------------- experta

def experta_shim() -> None:
    """frozendict 1.2 (pinned by experta 1.9.4) imports ``collections.Mapping``, removed in Python
    3.10; give it ``collections.abc.Mapping`` under the old name."""
    if not hasattr(collections, "Mapping"):
        collections.Mapping = collections.abc.Mapping  # type: ignore[attr-defined]


def _experta_engine(policy: Any) -> Any:
    experta_shim()
    from experta import MATCH, NOT, TEST, Fact, KnowledgeEngine, P, Rule

    p = _params(policy)
    in_force_from = p["in_force_from"].isoformat()
    directions = frozenset(p["directions"])
    years, min_rank, programme = p["required_years"], p["min_rank"], p["programme"]

    def titled(levels: tuple[str, ...]) -> Any:
        return NOT(Fact(t="title", level=P(lambda level: level in levels)))

    class Measure9(KnowledgeEngine):  # type: ignore[misc]
        """13 rules: what is held and who is a talent (5), the clauses (8)."""

        @Rule(Fact(t="context", as_of=MATCH.day), TEST(lambda day: day >= in_force_from))
        def in_force(self, day: str) -> None:
            self.declare(Fact(t="in_force", as_of=day))

        @Rule(Fact(t="in_force", as_of=MATCH.day),
              Fact(t="certificate", programme=programme, revoked=False, issued_on=MATCH.issued,
                   kind=MATCH.kind, level=MATCH.level, direction=MATCH.direction),
              TEST(lambda issued, day: issued <= day))
        def held_certificate(self, day: str, issued: str, kind: str, level: str, direction: str) -> None:
            self.declare(Fact(t="held_certificate", kind=kind, level=level, direction=direction))

        @Rule(Fact(t="held_certificate"))
        def talent_by_certificate(self) -> None:
            self.declare(Fact(t="talent"))

        @Rule(Fact(t="in_force"), Fact(t="title", digital=True))
        def talent_by_title(self) -> None:
            self.declare(Fact(t="talent"))

        @Rule(Fact(t="in_force"), Fact(t="work_time", kind="professional_technical",
                                       direction=P(lambda d: d in directions), covered_days=P(lambda n: n > 0)))
        def talent_by_work(self) -> None:
            self.declare(Fact(t="talent"))

        @Rule(Fact(t="talent"), Fact(t="in_force", as_of=MATCH.day), Fact(t="achievement", date=MATCH.date),
              TEST(lambda date, day: date <= day), titled(_SENIOR_FOR_M91))
        def m9_1(self, day: str, date: str) -> None:
            self.codes.add("apply_senior_title_exceptional")

        @Rule(Fact(t="held_certificate", kind="professional_level", level="junior"), titled(_FROM_JUNIOR))
        def m9_2a_junior(self) -> None:
            self.codes.add("recognize_junior_title")

        @Rule(Fact(t="held_certificate", kind="professional_level", level="intermediate"),
              titled(_FROM_INTERMEDIATE))
        def m9_2a_intermediate(self) -> None:
            self.codes.add("recognize_intermediate_title")

        @Rule(Fact(t="held_certificate", kind="professional_level", level="senior"), titled(_FULL_SENIOR))
        def m9_2b(self) -> None:
            self.codes.add("senior_achievement_condition")

        @Rule(Fact(t="held_certificate", kind="training", level="junior"), titled(_FROM_JUNIOR))
        def m9_2c(self) -> None:
            self.codes.add("apply_junior_title")

        @Rule(Fact(t="held_certificate", kind="training", level="intermediate", direction=MATCH.direction),
              Fact(t="work_time", kind="professional_technical", direction=MATCH.direction,
                   full_years=P(lambda n: n >= years)),
              titled(_FROM_INTERMEDIATE))
        def m9_2d(self, direction: str) -> None:
            self.codes.add("apply_intermediate_title")

        @Rule(Fact(t="in_force", as_of=MATCH.day),
              Fact(t="skill_level", digital=True, rank=P(lambda r: r >= min_rank), issued_on=MATCH.issued),
              TEST(lambda issued, day: issued <= day))
        def m9_3a(self, day: str, issued: str) -> None:
            self.codes.add("skilled_may_apply_title")

        @Rule(Fact(t="talent"))
        def m9_3b(self) -> None:
            self.codes.add("technical_may_apply_skill_level")

    return Measure9()


#: The fields of each fact type the graph and the rules look at (fewer fields, less to copy).
FIELDS = {
    "context": ("as_of",), "certificate": ("programme", "revoked", "issued_on", "kind", "level", "direction"),
    "work_time": ("kind", "direction", "covered_days", "full_years"), "title": ("level", "digital"),
    "achievement": ("date",), "skill_level": ("digital", "rank", "issued_on"),
}


class Experta:
    """The 13 experta rules, one ``reset()`` and ``run()`` per applicant."""

    rules = 13

    def __init__(self, policy: Any) -> None:
        self.policy = policy
        self.engine = _experta_engine(policy)
        from experta import Fact

        self._fact = Fact

    def codes(self, record: Applicant | Mapping[str, Any]) -> list[str]:
        engine, fact_class = self.engine, self._fact
        engine.reset()
        engine.codes = set()
        for fact in structure(record, self.policy):
            fields = FIELDS.get(fact["t"])
            if fields is not None:
                engine.declare(fact_class(t=fact["t"], **{k: fact[k] for k in fields if k in fact}))
        engine.run()
        return sorted(engine.codes)


def skill_rank(code: str) -> int:  # pragma: no cover - a convenience for reading the graph
    return SkillLevel.parse(code).rank
