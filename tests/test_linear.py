"""Costs linear in the size of a record (issue 19): what the rules pair, and lists longer than a
session holds.

The rules once paired the items of two lists (every digital technical talent with every
achievement; every certificate with every title held; every digital skill level with every
crossover route), so that an applicant's rule firings, time and memory grew with the product
of two lists.  A fact type can now be derived ``once`` per applicant (and per value of some
fields), each later derivation adding its basis to it; these tests count what the engine does
(firings, not seconds: timings belong to ``benchmarks/bench_limits.py``) and check that results
say the same things as before: every item in the basis, the earliest one cited, the same in a
shared session as alone.
"""

from __future__ import annotations

import collections
import datetime as _dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import taian_titles
from taian_titles import engine as engine_module
from taian_titles.errors import RulesetError
from taian_titles.exchange import applicant_from_dict
from taian_titles.facts import applicant_facts
from taian_titles.limits import ITEMS
from taian_titles.ruleset import default_ruleset_path, load_ruleset

AS_OF = "2025-06-01"
CERT = {"programme": "digital_technology_engineer", "kind": "professional_level", "level": "junior",
        "direction": "人工智能", "issued_on": "2024-01-01"}
TITLE = {"level": "senior", "digital": True, "speciality": "计算机"}
ACHIEVEMENT = {"description": "业绩", "date": "2024-01-01"}
LEVEL = {"level": "technician", "digital": True, "occupation": "工种", "issued_on": "2015-01-01"}


def _applicant(certificates: int = 0, titles: int = 0, achievements: int = 0, skill_levels: int = 0,
               title_levels: tuple[str, ...] = ("senior",)) -> dict[str, Any]:
    return {"id": "many", "as_of": AS_OF,
            "certificates": [{**CERT, "number": f"N-{i}"} for i in range(certificates)],
            "titles": [{**TITLE, "level": title_levels[i % len(title_levels)], "speciality": f"专业{i}"}
                       for i in range(titles)],
            "achievements": [{**ACHIEVEMENT, "description": f"业绩{i}"} for i in range(achievements)],
            "skill_levels": [{**LEVEL, "occupation": f"工种{i}"} for i in range(skill_levels)]}


def _firings(record: dict[str, Any]) -> collections.Counter[str]:
    policy = taian_titles.default_policy()
    applicant = policy.prepare(applicant_from_dict(record))
    facts = applicant_facts(applicant, _dt.date.fromisoformat(AS_OF), policy.counts)
    return collections.Counter(f.rule_id for f in policy.engine.run(facts))


# --------------------------------------------------------------------------- firings grow linearly

@pytest.mark.parametrize("n", [1, 7, 40])
def test_the_exceptional_route_fires_once_per_achievement_however_many_talents(n):
    # n certificates (n digital technical talents) and n achievements: M9-1 once per
    # achievement, not n x n; the talent is one fact resting on every certificate.
    record = _applicant(certificates=n, achievements=n)
    fired = _firings(record)
    assert fired["M9-1"] == n and fired["M9-3b"] == 1
    [outcome] = [o for o in taian_titles.evaluate(record).outcomes if o.code == "apply_senior_title_exceptional"]
    assert set(outcome.basis) == {f"certificate:N-{i}" for i in range(n)} | {f"achievement:{i}" for i in range(n)}


@pytest.mark.parametrize("n", [1, 6, 30])
def test_a_title_held_is_one_note_per_certificate_and_level(n):
    # n junior certificates beside n senior titles: one note per certificate (not n x n), each
    # citing title 1 and resting on every senior title; and the exceptional route's note once.
    record = _applicant(certificates=n, titles=n, achievements=n)
    fired = _firings(record)
    assert fired["note-title-held-junior-recognition"] == n
    assert fired["note-title-held-exceptional"] == 1
    notes = [note for note in taian_titles.evaluate(record).notes if note.rule == "note-title-held-junior-recognition"]
    assert len(notes) == n
    for note in notes:
        assert {ref for ref in note.basis if ref.startswith("title:")} == {f"title:{i}" for i in range(n)}
        assert "title 1)" in note.explanation.en


@pytest.mark.parametrize("n", [1, 5, 25])
def test_the_crossover_names_its_route_in_m9_3a_once(n):
    # n digital technicians: M9-3a concludes n times and the crossover's addendum follows once
    # per route concluded, not once per pair of them.
    fired = _firings(_applicant(skill_levels=n))
    assert fired["M9-3a"] == n
    addenda = sum(count for rule, count in fired.items() if rule.endswith("-in-M9-3a"))
    assert addenda == n


@settings(max_examples=40, deadline=None)
@given(certificates=st.integers(0, 12), titles=st.integers(0, 12), achievements=st.integers(0, 12),
       skill_levels=st.integers(0, 12))
def test_firings_are_bounded_by_a_constant_times_the_items(certificates, titles, achievements, skill_levels):
    # Whatever the mix, an applicant's firings are at most a constant per item (no pair of lists
    # multiplies): 12 of each list fire at most as often, per item, as one of each.
    items = certificates + titles + achievements + skill_levels
    fired = sum(_firings(_applicant(certificates, titles, achievements, skill_levels,
                                    title_levels=("senior", "intermediate", "junior"))).values())
    assert fired <= 12 * (items + 1)


# --------------------------------------------------------------------------- the same results

@settings(max_examples=40, deadline=None)
@given(st.permutations(["senior", "senior", "full_senior", "intermediate", "senior", "junior"]),
       st.integers(1, 3))
def test_a_note_cites_the_first_title_of_its_level_alone_and_in_a_shared_session(levels, certificates):
    record = _applicant(certificates=certificates, titles=len(levels), achievements=1, title_levels=tuple(levels))
    alone = taian_titles.evaluate(record)
    shared = list(taian_titles.evaluate_many([_applicant(certificates=2, titles=1), record,
                                              _applicant(titles=3, achievements=2)]))[1]
    assert shared.to_dict() == alone.to_dict()
    first = {}
    for i, level in enumerate(levels):
        first.setdefault(level, i)
    for note in alone.notes:
        if note.rule != "note-title-held-junior-recognition":
            continue
        cited = [level for level in first if f"title {first[level] + 1})" in note.explanation.en]
        assert len(cited) == 1  # the first title of one level
        assert {ref for ref in note.basis if ref.startswith("title:")} == \
            {f"title:{i}" for i, level in enumerate(levels) if level == cited[0]}


# --------------------------------------------------------------------------- the loader's checks

def _document(rules: str) -> str:
    text = default_ruleset_path().read_text("utf-8")
    return text + "\n" + rules


@pytest.mark.parametrize("rules, says", [
    ('[[rules]]\nid = "x-once"\nclause = "M9-1"\nstage = "derive"\nwhen = ["a: held_achievement"]\n'
     'then = { derive = "x_fact", basis = ["a"], once = true }\n\n'
     '[[rules]]\nid = "x-same-stage"\nclause = "M9-1"\nstage = "derive"\nwhen = ["x: x_fact"]\n'
     'then = { derive = "y_fact", basis = ["x"] }\n',
     "only a rule of a later stage may test it"),
    ('[[rules]]\nid = "x-once"\nclause = "M9-1"\nstage = "derive"\nwhen = ["a: held_achievement"]\n'
     'then = { derive = "x_fact", basis = ["a"], once = true }\n\n'
     '[[rules]]\nid = "x-twice"\nclause = "M9-1"\nstage = "derive"\nwhen = ["t: held_title"]\n'
     'then = { derive = "x_fact", basis = ["t"] }\n',
     "say the same once in each"),
    ('[[rules]]\nid = "x-once"\nclause = "M9-1"\nstage = "derive"\nwhen = ["a: held_achievement"]\n'
     'then = { derive = "x_fact", copy = "a", basis = ["a"], once = ["colour"] }\n',
     "then.once names 'colour'"),
    ('[[rules]]\nid = "x-once"\nclause = "M9-1"\nstage = "outcome"\nwhen = ["a: held_achievement"]\n'
     'then = { note = "achievement_after_as_of", basis = ["a"], once = true }\n',
     "then.once belongs to a derive"),
    ('[[rules]]\nid = "x-once"\nclause = "M9-1"\nstage = "derive"\nwhen = ["a: held_achievement"]\n'
     'then = { derive = "x_fact", basis = ["a"], once = "yes" }\n',
     "then.once must be true"),
])
def test_the_loader_says_what_is_wrong_with_a_once(tmp_path, rules, says):
    path = tmp_path / "office.toml"
    path.write_text(_document(rules), "utf-8")
    with pytest.raises(RulesetError) as caught:
        taian_titles.load_policy(load_ruleset(path))
    assert says in str(caught.value)


# --------------------------------------------------------------------------- a list past a session

def test_only_the_candidates_and_the_lists_count_stand_alone():
    engine = taian_titles.default_policy().engine
    assert engine.standalone == {"candidate", "list_summary"}


def _list(n: int) -> dict[str, Any]:
    levels = ["technician", "senior_worker", "senior_technician", "intermediate_worker"]
    return {"unit": "某县", "as_of": AS_OF,
            "candidates": [{"id": f"C-{i % (n - 3)}", "skill_level": levels[i % 4], "digital": i % 3 == 0}
                           for i in range(n)]}


@pytest.mark.parametrize("n", [5, 37, 250])
def test_a_list_in_several_sessions_gives_the_result_of_one(monkeypatch, n):
    whole = taian_titles.check_quota(_list(n)).to_dict()
    monkeypatch.setattr(engine_module, "STANDALONE_PER_SESSION", 4)
    parts = taian_titles.check_quota(_list(n)).to_dict()
    assert parts == whole
    assert whole["findings"]  # intermediate workers and repeated ids: findings from every part


def test_a_list_of_100000_candidates_is_checked():
    # More candidates than one session of the core holds (65,535 facts): evaluated in parts.
    assert ITEMS["candidates"] >= 100_000
    result = taian_titles.check_quota(_list(100_000))
    assert result.listed == 100_000
    assert len([f for f in result.findings if f.code == "candidate_not_high_skilled"]) > 20_000
