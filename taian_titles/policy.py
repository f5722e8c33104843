"""A compiled policy: one or more ruleset documents, composed, with everything their evaluation needs.

:func:`load_policy` reads one or more ruleset files (measure nine, and the documents it puts
into effect), checks them as one policy and compiles it once.  Everything that belongs to "this
policy, compiled" hangs off the :class:`Policy` object: the engine with its compiled rules and
actions, the explanation plans, the memo of rendered explanations, the vocabulary its letters
use.  Every result carries the policy it came from, so renderings never fall back to another
one, and dropping the last reference to a policy frees all of it.

Evaluation runs one way: model → facts (:mod:`taian_titles.facts`) → engine
(:mod:`taian_titles.engine`) → results (:mod:`taian_titles.decision`).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import attrs

from .decision import Decision, QuotaResult, build_decision, build_quota_result, compile_plans
from .engine import Engine
from .errors import InputError, RulesetError, problem
from .facts import applicant_facts, recommendation_list_facts
from .model import Applicant, RecommendationList, labels as model_labels
from .ruleset import (DEFAULT_RULESETS, Ruleset, check_documents, default_ruleset_path, parse_document,
                      read_ruleset_file)

__all__ = ["Policy", "load_policy", "default_policy", "reform_policy", "SESSION_APPLICANTS"]


class Policy:
    """One or more ruleset documents, checked as one policy and compiled once.

    ``documents`` are in the order they apply; the first names the result's ``ruleset``.  A
    rule's ``$parameter`` is its own document's.  Immutable once made.
    """

    def __init__(self, documents: Sequence[Ruleset]) -> None:
        documents = tuple(documents)
        if not documents:
            raise ValueError("a policy needs at least one ruleset document")
        check_documents(documents)
        self.documents: tuple[Ruleset, ...] = documents
        self.rules = tuple(r for d in documents for r in d.rules)
        self._rules = {r.id: r for r in self.rules}
        self._clauses: dict[str, tuple[Ruleset, Mapping[str, str]]] = {
            cid: (d, text) for d in documents for cid, text in d.clauses.items()}
        self._outcomes: dict[str, Mapping[str, str]] = {
            code: entry for d in reversed(documents) for code, entry in d.outcomes.items()}
        # The helper facts Python counts, with the values of the parameters they need.
        self.counts: dict[str, dict[str, Any]] = {
            fact: {role: ({level: d.param(n) for level, n in name.items()} if isinstance(name, Mapping)
                          else d.param(name)) for role, name in count.parameters.items()}
            for d in documents for fact, count in d.counts.items()}
        # Programme directions: the parameter's names, and every spelling the labels allow.
        self.directions: tuple[str, ...] = tuple(dict.fromkeys(
            name for d in documents if "digital_directions" in d.parameters
            for name in d.param("digital_directions")))
        self.labels: dict[str, tuple[str, str]] = dict(model_labels())
        self._spellings: dict[str, str] = {}
        for d in documents:  # how explanations show a direction or a state the record gives
            for group in ("directions", "states"):
                for code, pair in d.labels.get(group, {}).items():
                    self.labels.setdefault(code, (pair["zh"], pair["en"]))
        for name in self.directions:
            zh, en = self.labels.get(name, (name, name))
            for spelling in (name, zh, en, en.lower(), en.lower().replace(" ", "_")):
                self._spellings.setdefault(spelling, name)
        self.engine = Engine(documents)
        self.plans = compile_plans(self.rules, {d.id: d.parameters for d in documents}, self.labels)
        self.memo: dict[Any, Any] = {}

    def __repr__(self) -> str:
        return "Policy(" + ", ".join(f"{d.id} {d.version}" for d in self.documents) + ")"

    # ------------------------------------------------------------------ what the policy says

    @property
    def first(self) -> Ruleset:
        return self.documents[0]

    def refs(self) -> list[dict[str, str]]:
        """Every document's id, version and digest, in order (a result's ``rulesets``)."""
        return [d.ref() for d in self.documents]

    def ref(self) -> dict[str, str]:
        """The first document's id, version and digest (a result's ``ruleset``)."""
        return self.first.ref()

    def document(self, ruleset_id: str) -> Ruleset:
        return next(d for d in self.documents if d.id == ruleset_id)

    def has_param(self, name: str) -> bool:
        return any(name in d.parameters for d in self.documents)

    def param(self, name: str) -> Any:
        """A parameter's typed value, from the first document that defines it."""
        for d in self.documents:
            if name in d.parameters:
                return d.param(name)
        raise KeyError(f"no document of the policy defines the parameter {name!r}")

    def rule(self, rule_id: str) -> Any:
        return self._rules[rule_id]

    def clause(self, clause_id: str) -> Mapping[str, str]:
        return self._clauses[clause_id][1]

    def clause_text(self, clause_id: str, lang: str = "zh") -> str:
        return self._clauses[clause_id][1][lang]

    def document_of_clause(self, clause_id: str) -> Ruleset:
        return self._clauses[clause_id][0]

    def outcome(self, code: str) -> Mapping[str, str] | None:
        return self._outcomes.get(code)

    def label(self, group: str, code: str, lang: str) -> str | None:
        """A name from some document's ``[labels.<group>]`` (title levels, directions)."""
        for d in self.documents:
            pair = d.labels.get(group, {}).get(code)
            if pair:
                return pair[lang]
        return None

    def words(self, name: str, lang: str, default: str = "") -> str:
        """A piece of wording from some document's ``[words.<name>]``."""
        for d in self.documents:
            pair = d.words.get(name)
            if pair:
                return pair[lang]
        return default

    def quota_outcome(self) -> tuple[str, str]:
        """The outcome code and clause of the policy's quota rules (M9-4)."""
        for r in self.rules:
            if r.then.kind == "quota":
                return r.then.target, r.clause
        raise RulesetError(self.first.source, ["the policy has no quota rule, so it cannot check "
                                               "recommendation lists"])

    # ------------------------------------------------------------------ evaluation

    def prepare(self, applicant: Applicant) -> Applicant:
        """The applicant with every programme direction in the policy's spelling (its Chinese
        name); a certificate direction the policy does not know is bad input."""
        if not self.directions:
            return applicant
        spellings = self._spellings
        problems = []
        certificates = list(applicant.certificates)
        changed = False
        for i, c in enumerate(certificates):
            name = spellings.get(c.direction) or spellings.get(c.direction.strip().lower())
            if name is None:
                problems.append(problem(f"certificates[{i}].direction", "unknown_value", value=repr(c.direction),
                                        allowed=[(d, self.labels.get(d, (d, d))[0]) for d in self.directions]))
            elif name != c.direction:
                certificates[i] = attrs.evolve(c, direction=name)
                changed = True
        if problems:
            raise InputError(problems, record_id=applicant.id)
        periods = list(applicant.work_periods)
        for i, w in enumerate(periods):
            name = spellings.get(w.direction) or spellings.get(w.direction.lower())
            if name is not None and name != w.direction:
                periods[i] = attrs.evolve(w, direction=name)
                changed = True
        if not changed:
            return applicant
        return attrs.evolve(applicant, certificates=tuple(certificates), work_periods=tuple(periods))

    def evaluate(self, applicant: Applicant, as_of: _dt.date) -> Decision:
        """One applicant on ``as_of``: facts, the engine, the decision."""
        applicant = self.prepare(applicant)
        facts = applicant_facts(applicant, as_of, self.counts)
        return build_decision(applicant.id, as_of, self.engine.run(facts), self, applicant.name)

    def run_engine(self, fact_lists: Sequence[list[dict[str, Any]]]) -> list[Any]:
        """The engine's firings for each applicant's facts, in sessions of up to
        :data:`SESSION_APPLICANTS` applicants (:meth:`Engine.run_many`).  When a shared session
        fails, its applicants are run again one by one, so that a failure costs only its own
        applicant: its entry is then the exception (the others' are their firings)."""
        out: list[Any] = []
        for start in range(0, len(fact_lists), SESSION_APPLICANTS):
            part = fact_lists[start:start + SESSION_APPLICANTS]
            while part:  # a session of applicants with at most SESSION_FACTS facts between them
                size, count = 0, 0
                for facts in part:
                    if count and size + len(facts) > SESSION_FACTS:
                        break
                    size, count = size + len(facts), count + 1
                group, part = part[:count], part[count:]
                try:
                    out.extend(self.engine.run_many(group))
                except Exception:
                    for facts in group:  # each alone: only the one that fails again fails
                        try:
                            out.append(self.engine.run(facts))
                        except Exception as exc:
                            out.append(exc)
        return out

    def check_list(self, rec: RecommendationList, as_of: _dt.date) -> QuotaResult:
        """One recommendation list on ``as_of``: facts, the engine, the quota result."""
        threshold = self.param("high_skilled_from").rank if self.has_param("high_skilled_from") else 0
        facts = recommendation_list_facts(rec, as_of, self.counts, threshold)
        (summary,) = [f for f in facts if f["t"] == "list_summary"]
        return build_quota_result(summary, as_of, self.engine.run(facts), self)


#: Applicants evaluated in one engine session by :meth:`Policy.run_engine` (each session costs
#: the core an allocation and clearing of every join node, and round trips of its own; beyond
#: a few dozen applicants the joins of a shared session cost more than they save).
SESSION_APPLICANTS = 16
#: At most this many input facts in one shared session (an applicant with thousands of items
#: gets a session of its own: the hidden catch-all rule counts every fact of a session).
SESSION_FACTS = 2000


# --------------------------------------------------------------------------- loading

def load_policy(*sources: str | Path | Ruleset) -> Policy:
    """A policy of one or more ruleset files (or loaded :class:`Ruleset` s), in the order given;
    with none, the shipped policy.  Raises :class:`RulesetError` naming every problem, including
    a fact one document uses that no document of the policy derives."""
    if not sources:
        return default_policy()
    documents = [s if isinstance(s, Ruleset) else parse_document(read_ruleset_file(s), str(s)) for s in sources]
    return Policy(documents)


def reform_policy(base: Policy, *sources: str | Path | Ruleset) -> Policy:
    """``base`` with each reform document (a file or a loaded :class:`Ruleset`) in place of the
    base document with the same ruleset id (``[ruleset] id``), in its place; a reform document
    whose id the base lacks is added at the end.  The base's other documents stay.  With no
    sources, ``base`` itself.  Raises :class:`RulesetError` like :func:`load_policy`."""
    if not sources:
        return base
    reforms = [s if isinstance(s, Ruleset) else parse_document(read_ruleset_file(s), str(s)) for s in sources]
    ids = [d.id for d in reforms]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise RulesetError(str(reforms[0].source), [f"two reform files have the ruleset id {twice[0]!r}; "
                                                    f"give one file per document"])
    by_id = {d.id: d for d in reforms}
    documents = [by_id.pop(d.id, d) for d in base.documents]
    return Policy([*documents, *by_id.values()])


_DEFAULT: Policy | None = None


def default_policy() -> Policy:
    """The shipped policy (every document of ``DEFAULT_RULESETS``), loaded once per process."""
    global _DEFAULT
    if _DEFAULT is None:
        from .ruleset import default_ruleset

        first = default_ruleset()
        rest = [parse_document(read_ruleset_file(default_ruleset_path(name)), str(default_ruleset_path(name)))
                for name in DEFAULT_RULESETS[1:]]
        _DEFAULT = first.policy if not rest else Policy([first, *rest])
    return _DEFAULT


def policy_of(policy: Policy | None = None, ruleset: Ruleset | Iterable[Ruleset] | None = None) -> Policy:
    """The policy an API call names: ``policy=``, or ``ruleset=`` (one document or several), or
    the shipped one."""
    if policy is not None:
        if ruleset is not None:
            raise TypeError("give policy= or ruleset=, not both")
        return policy
    if ruleset is None:
        return default_policy()
    if isinstance(ruleset, Ruleset):
        return ruleset.policy  # type: ignore[no-any-return]
    return Policy(tuple(ruleset))
