"""Engine sessions shared by several applicants (``Engine.run_many``, ``evaluate_many``).

Every fact of a shared session carries its applicant's place (``a__``) and every rule joins on
it, negations included.  What must hold: no fact of one applicant ever matches another's, the
results are those of one session per applicant, and a failure inside a shared session costs no
other applicant its result.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import taian_titles
import taian_titles.engine as engine_module
from taian_titles import strategies as ts
from taian_titles.api import BatchError, evaluate_record, evaluate_records
from taian_titles.engine import KEY, EngineError
from taian_titles.facts import applicant_facts
from taian_titles.policy import default_policy
from taian_titles.ruleset import default_ruleset_path

from .test_exchange import GOOD

DAY = "2025-06-01"


def _facts(policy: Any, applicant: Any) -> list[dict[str, Any]]:
    applicant = policy.prepare(applicant)
    return applicant_facts(applicant, applicant.as_of, policy.counts)


def test_every_condition_after_the_first_joins_on_the_applicant_negations_included():
    engine = default_policy().engine
    keyed = 0
    for rule in engine.rules:
        terms = engine.keyed_definition[rule.id]["all"]
        conditions = [t for t in terms if "stage__" not in t]
        anchor = next(c.alias for c in rule.when if not c.negated)
        for term, cond in zip(conditions, rule.when):
            (name, body), = term.items()
            tests = body.get("$and", [body])
            joined = {KEY: {anchor: KEY}} in tests
            assert joined == (cond.alias != anchor), (rule.id, name)
            keyed += joined
    assert keyed > 20
    # the one-applicant definitions are untouched
    assert all(KEY not in str(definition) for definition in engine.definition.values())


def test_a_title_of_one_applicant_never_blocks_another_s_outcome():
    # Alone, a junior professional certificate recognises a junior title unless the applicant
    # holds a title at that level or above ("no held_title ..."), and a senior title blocks M9-1.
    holder = {"id": "H", "as_of": DAY, "titles": [{"level": "full_senior", "digital": False}],
              "certificates": [{**GOOD["certificates"][0], "number": "H-1"}]}
    newcomer = {"id": "N", "as_of": DAY, "certificates": [{**GOOD["certificates"][0], "number": "N-1"}],
                "achievements": [{"description": "专利", "date": "2024-01-01"}]}
    policy = default_policy()
    alone = [evaluate_record(i, r, as_of=None, policy=policy).to_dict() for i, r in enumerate((holder, newcomer))]
    together = [d.to_dict() for d in evaluate_records(list(enumerate((holder, newcomer))), as_of=None, policy=policy)]
    assert together == alone
    codes = [[o["code"] for o in d["outcomes"]] for d in together]
    assert "recognize_junior_title" not in codes[0] and "recognize_junior_title" in codes[1]
    assert "apply_senior_title_exceptional" in codes[1]


def _origin_check(fact_lists: list[list[dict[str, Any]]], firings: list[list[Any]]) -> None:
    """Every fact bound in a firing of applicant k is one of k's input facts or concluded by an
    earlier firing of k (compared by identity: no fact is ever another applicant's)."""
    for k, (facts, mine) in enumerate(zip(fact_lists, firings)):
        known = {id(f) for f in facts}
        for firing in mine:
            for alias, fact in firing.bindings.items():
                assert id(fact) in known, f"applicant {k}: {firing.rule_id} bound {alias} of another applicant"
            known.update(id(f) for f in firing.concluded)


@given(st.lists(ts.applicants(max_items=3), min_size=2, max_size=8))
@settings(max_examples=40, deadline=None)
def test_no_fact_of_one_applicant_ever_matches_another_s(applicants):
    for policy in (default_policy(), _measure_nine()):
        fact_lists = [_facts(policy, a) for a in applicants]
        firings = policy.engine.run_many(fact_lists)
        _origin_check(fact_lists, firings)
        assert policy.engine.live_sessions == 0


def test_a_firing_across_applicants_is_refused(monkeypatch):
    # The adapter checks every firing: were the core to join two applicants' facts, the session
    # fails (and evaluate_many runs each applicant alone).
    policy = default_policy()
    engine = policy.engine
    one, two = (_facts(policy, taian_titles.applicant_from_dict({**GOOD, "id": i})) for i in ("A", "B"))
    slim = engine._keyed_slim_of["certificate"]
    monkeypatch.setitem(engine._keyed_slim_of, "certificate", lambda fact, n, sid, k: slim(fact, n, sid, 0))
    with pytest.raises(EngineError, match="applicants"):
        engine.run_many([one, two])
    assert engine.live_sessions == 0


_M9: list[Any] = []


def _measure_nine() -> Any:
    if not _M9:
        _M9.append(taian_titles.load_policy(default_ruleset_path()))
    return _M9[0]


@given(st.lists(ts.applicants(max_items=4), min_size=1, max_size=40))
@settings(max_examples=40, deadline=None)
def test_batched_results_are_those_of_one_session_per_applicant(applicants):
    for policy in (default_policy(), _measure_nine()):
        alone = [evaluate_record(i, a, as_of=None, policy=policy).to_dict() for i, a in enumerate(applicants)]
        batched = [d.to_dict() for d in taian_titles.evaluate_many(applicants, policy=policy)]
        assert batched == alone


def test_a_poisoned_record_in_a_batch_costs_no_other_record_its_result(monkeypatch):
    policy = default_policy()
    records = [{**GOOD, "id": f"R-{i}", "certificates": [{**GOOD["certificates"][0], "number": f"C-{i}"}]}
               for i in range(20)]
    alone = [evaluate_record(i, r, as_of=None, policy=policy).to_dict() for i, r in enumerate(records)]
    sessions: list[int] = []
    real_run_many = policy.engine.run_many

    def counting(fact_lists):
        sessions.append(len(fact_lists))
        return real_run_many(fact_lists)

    monkeypatch.setattr(policy.engine, "run_many", counting)
    conclude = policy.engine.actions["held-certificate"]

    def poisoned(bindings):
        if bindings["cert"]["number"] == "C-7":
            raise RuntimeError("simulated fault in a rule's action")
        return conclude(bindings)

    monkeypatch.setitem(policy.engine.actions, "held-certificate", poisoned)
    got = list(taian_titles.evaluate_many(records, policy=policy))
    assert sessions and max(sessions) > 1  # the records did share sessions
    assert isinstance(got[7], BatchError) and got[7].error.kind == "internal"
    assert "simulated fault" in got[7].error.message and got[7].id == "R-7"
    assert [d.to_dict() for i, d in enumerate(got) if i != 7] == [a for i, a in enumerate(alone) if i != 7]
    assert policy.engine.live_sessions == 0


def test_bad_input_in_a_batch_is_that_record_s_entry():
    records = [{**GOOD, "id": "A"}, {"id": "bad", "certificates": "x"}, [1, 2], {**GOOD, "id": "D"}]
    got = list(taian_titles.evaluate_many(records))
    assert [type(r).__name__ for r in got] == ["Decision", "BatchError", "BatchError", "Decision"]
    assert got[1].to_dict() == evaluate_record(1, records[1], as_of=None).to_dict()
    assert got[3].to_dict() == evaluate_record(3, records[3], as_of=None).to_dict()


def test_an_applicant_with_many_items_gets_a_session_of_its_own(monkeypatch):
    from taian_titles import policy as policy_module

    policy = default_policy()
    sizes: list[int] = []
    real = policy.engine.run_many
    monkeypatch.setattr(policy.engine, "run_many", lambda lists: sizes.append(len(lists)) or real(lists))
    monkeypatch.setattr(policy_module, "SESSION_FACTS", 30)
    big = {**GOOD, "id": "big", "certificates": [{**GOOD["certificates"][0], "number": f"B-{i}"} for i in range(40)]}
    records = [{**GOOD, "id": "a"}, big, {**GOOD, "id": "b"}, {**GOOD, "id": "c"}]
    got = [d.to_dict() for d in taian_titles.evaluate_many(records, as_of=_dt.date(2025, 6, 1))]
    assert got == [evaluate_record(i, r, as_of=_dt.date(2025, 6, 1)).to_dict() for i, r in enumerate(records)]
    assert sizes == [1, 1, 2]


@given(st.lists(st.one_of(ts.applicant_dicts(), st.just({"id": "bad", "certificates": "x"}),
                          st.just([1, 2]), st.just("unparsable")), min_size=1, max_size=30),
       st.integers(1, 17))
@settings(max_examples=25, deadline=None)
def test_the_command_s_batches_give_each_record_the_entry_it_gets_alone(records, size):
    """``evaluate --jobs 1`` on a file: records evaluated ``size`` at a time in shared sessions,
    each entry (good, bad input, unreadable line) what the record gets alone, in input order."""
    from taian_titles.batch import evaluate_entries, evaluate_entry
    from taian_titles.errors import problem
    from taian_titles.io import Unparsable
    policy = default_policy()
    items = [(n + 1, Unparsable(n + 1, problem("$", "not_json", line=n + 1, reason="x", column=1), "{")
              if r == "unparsable" else r)
             for n, r in enumerate(records)]
    alone = [evaluate_entry(i, line, record, as_of=None, policy=policy)[1] for i, (line, record) in enumerate(items)]
    batched = [(i, entry) for i, _, _, _, entry in evaluate_entries(iter(items), as_of=None, policy=policy, size=size)]
    assert batched == list(enumerate(alone))


def test_a_batch_pauses_the_garbage_collector_and_leaves_it_as_it_was(monkeypatch):
    # evaluate_records pauses Python's cyclic collector for its batch only: running after the
    # batch if it ran before, still off if the caller had turned it off, also when a record
    # is bad; and the answers are those of evaluate_record.
    import gc

    seen = []
    real = taian_titles.api._evaluate_records

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(taian_titles.api, "_evaluate_records", spy)
    items = [(0, GOOD), (1, {"id": "bad", "certificates": [{"level": "huge"}]})]
    was = gc.isenabled()
    try:
        gc.enable()
        answers = evaluate_records(items, as_of=None, policy=default_policy())
        assert seen == [False] and gc.isenabled()
        assert answers[0].to_dict() == evaluate_record(0, GOOD, as_of=None, policy=default_policy()).to_dict()
        assert isinstance(answers[1], BatchError)
        gc.disable()
        evaluate_records(items, as_of=None, policy=default_policy())
        assert seen == [False, False] and not gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()


def test_a_long_list_of_records_is_evaluated_a_batch_at_a_time(monkeypatch):
    # evaluate_records of more than BATCH records evaluates them BATCH at a time (a batch's
    # facts, firings and decisions are held at once; a larger batch outgrows the caches), with
    # the collector paused for each batch and running between them; the answers are those of
    # evaluate_record, bad records in their places.
    import gc

    seen: list[tuple[int, bool]] = []
    real = taian_titles.api._evaluate_records

    def spy(items, **kwargs):
        seen.append((len(items), gc.isenabled()))
        return real(items, **kwargs)

    monkeypatch.setattr(taian_titles.api, "_evaluate_records", spy)
    batch = taian_titles.api.BATCH
    records = [{**GOOD, "id": f"R{i}"} if i % 37 else {"id": f"bad{i}", "certificates": "x"}
               for i in range(2 * batch + 5)]
    items = list(enumerate(records))
    was = gc.isenabled()
    try:
        gc.enable()
        answers = evaluate_records(items, as_of=_dt.date(2025, 6, 1), policy=default_policy())
        assert gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()
    assert seen == [(batch, False), (batch, False), (5, False)]
    assert [a.to_dict() for a in answers] == [
        evaluate_record(i, r, as_of=_dt.date(2025, 6, 1), policy=default_policy()).to_dict() for i, r in items]
