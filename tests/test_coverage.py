"""Rules that never fire, outcomes nothing produces, exclusive outcomes produced together.

The search (taian_titles.coverage) is derandomised, but hypothesis also draws on the constants
of the modules loaded in the process, so the records it tries depend a little on which tests
ran before.  These tests therefore stop on a goal (every rule but the ones expected not to fire)
with a generous ``max_records``, never on the clock (the time bound is only a safety net).
"""

from __future__ import annotations

import json
from pathlib import Path

import hypothesis
import pytest

import taian_titles as tt
from taian_titles.cli import main
from taian_titles.coverage import _conflicting, search, static_findings
from taian_titles.errors import RulesetError
from taian_titles.policy import default_policy, load_policy
from taian_titles.ruleset import Exclusive, default_ruleset_path

MEASURE9 = default_ruleset_path()
CROSSOVER = default_ruleset_path("lurenshefa-2020-16.toml")
#: At most this many records (the shipped policy's search reached its last reachable rule after
#: 1,316 records, and after about 2,000 with other modules loaded).
RECORDS = 8000
#: The one rule of the shipped policy no record can fire: with a quota of 20%, adding digital
#: candidates can always meet it, so ``add_digital_needed`` is never none (only at 100%).
SWAP_ONLY = "M9-4-not-met-swap-only"


def edited(tmp_path: Path, *replacements: tuple[str, str], name: str = "edited.toml") -> Path:
    text = MEASURE9.read_text("utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


@pytest.fixture(scope="module")
def shipped_report():
    return search(default_policy(), seconds=600, max_records=RECORDS, expected_unreached=[SWAP_ONLY])


def test_the_shipped_policy_reaches_every_rule_but_the_one_that_needs_a_quota_of_100_percent(shipped_report):
    r = shipped_report
    assert r.stopped_early and [u.rule for u in r.unreached] == [SWAP_ONLY]
    assert all(n > 0 for rule, n in r.rules.items() if rule != SWAP_ONLY)
    assert r.unproduced == () and all(n > 0 for n in r.outcomes.values())
    assert r.overlaps == () and r.exclusive_checked == 7
    assert (r.unused_parameters, r.unconcluded_codes, r.unwritten_notes) == ((), (), ())
    (swap,) = r.unreached
    assert swap.waits_for is not None and "add_digital_needed == none" in swap.waits_for.source
    assert swap.waits_for.met_alone == 0 and swap.conditions[0].met_alone > 0


def test_at_100_percent_the_swap_only_rule_fires_and_the_add_rule_cannot(tmp_path):
    path = edited(tmp_path, ('[parameters.quota_share]\nvalue = "20%"', '[parameters.quota_share]\nvalue = "100%"'))
    report = search(load_policy(path, CROSSOVER), seconds=600, max_records=RECORDS,
                    expected_unreached=["M9-4-not-met"])
    assert report.stopped_early and report.rules[SWAP_ONLY] > 0
    unreached = {u.rule: u for u in report.unreached}
    assert SWAP_ONLY not in unreached and "M9-4-not-met" in unreached
    # At 100% adding is possible only for a list that already meets the quota: the rule's list
    # condition (below the quota) never comes together with it.
    not_met = unreached["M9-4-not-met"]
    assert not_met.together == 2 and "digital < need.required_digital" in not_met.waits_for.source


def test_two_contradictory_conditions_make_a_rule_unreachable_and_the_report_names_them(tmp_path):
    # The measure applies (ctx: in_force) and the evaluation date is before it: each holds for
    # some records, never both for one.
    path = edited(tmp_path, (
        'when = [\n  "cert: held_certificate where kind == \'professional_level\' and level == \'junior\'",',
        'when = [\n  "ctx: in_force",\n  "old: context where as_of < $in_force_from",\n'
        '  "cert: held_certificate where kind == \'professional_level\' and level == \'junior\'",'))
    policy = load_policy(path, CROSSOVER)
    assert "old: context where as_of < $in_force_from" in [c.source for c in policy.rule("M9-2a-junior").when]
    expected = ["M9-2a-junior", "highest-junior", SWAP_ONLY]
    report = search(policy, seconds=600, max_records=RECORDS, expected_unreached=expected)
    assert report.stopped_early
    unreached = {u.rule: u for u in report.unreached}
    # highest-junior waits for the outcome the impossible rule would give
    assert set(unreached) == {"M9-2a-junior", "highest-junior", SWAP_ONLY}
    junior = unreached["M9-2a-junior"]
    assert junior.together == 1
    assert junior.waits_for is not None and junior.waits_for.source == "old: context where as_of < $in_force_from"
    assert junior.conditions[0].met_alone > 0 and junior.conditions[1].met_alone > 0
    # The only rule that recognises a junior title is gone, so is its outcome.
    assert ("tairenshefa-2025-5.measure9", "recognize_junior_title") in report.unproduced
    assert "never together with the conditions before it" in "\n".join(report.warnings())


def test_a_condition_no_record_meets_is_named(tmp_path):
    path = edited(tmp_path, (
        'when = [\n  "cert: held_certificate where kind == \'professional_level\' and level == \'junior\'",',
        'when = [\n  "cert: held_certificate where kind == \'professional_level\' and level == \'junior\' '
        'and direction == \'炼金术\'",'))
    report = search(load_policy(path, CROSSOVER), seconds=600, max_records=600)
    junior = next(u for u in report.unreached if u.rule == "M9-2a-junior")
    assert junior.together == 0 and junior.conditions[0].met_alone == 0
    assert "never met by any fact" in "\n".join(report.warnings())


def test_an_exclusive_pair_produced_together_is_reported_with_the_record(tmp_path):
    # A junior certificate of the programme makes its holder a digital technical talent: both
    # outcomes come from one certificate, which this declaration forbids.
    path = edited(tmp_path, ("[exclusive.one-certificate-one-level]",
                             '[exclusive.made-up]\nclause = "M9-2a"\ncodes = ["recognize_junior_title", '
                             '"technical_may_apply_skill_level"]\nsame_item = "certificate"\n\n'
                             "[exclusive.one-certificate-one-level]"))
    policy = load_policy(path, CROSSOVER)
    report = search(policy, seconds=600, max_records=600)
    (overlap,) = report.overlaps
    assert overlap.name == "made-up" and overlap.kind == "applicant"
    assert overlap.members == ("recognize_junior_title", "technical_may_apply_skill_level")
    decision = tt.evaluate(overlap.record, policy=policy)  # the counterexample really is one
    assert {"recognize_junior_title", "technical_may_apply_skill_level"} <= set(decision.codes)
    # ... and no larger than the record the search first found (hypothesis shrank it; alone, to one
    # junior certificate, but how far it gets in its few seconds depends on the machine).
    first = search(policy, seconds=600, max_records=600, shrink_seconds=0).overlaps[0].record
    assert len(json.dumps(overlap.record, ensure_ascii=False)) <= len(json.dumps(first, ensure_ascii=False))
    assert {"recognize_junior_title", "technical_may_apply_skill_level"} <= set(tt.evaluate(first, policy=policy).codes)
    assert "counterexample" in "\n".join(report.warnings())


def test_same_item_conflicts_only_on_one_item():
    x = Exclusive("x", (("outcome", "a"), ("outcome", "b")), "M9-2a", same_item="certificate")
    two_certificates = {("outcome", "a"): [{"certificate:1"}], ("outcome", "b"): [{"certificate:2", "work_period:0"}]}
    assert _conflicting(x, two_certificates) == ()
    one = {("outcome", "a"): [{"certificate:1"}], ("outcome", "b"): [{"certificate:1"}]}
    assert _conflicting(x, one) == (("outcome", "a"), ("outcome", "b"))
    shared_work = {("outcome", "a"): [{"certificate:1", "work_period:0"}],
                   ("outcome", "b"): [{"certificate:2", "work_period:0"}]}
    assert _conflicting(x, shared_work) == ()
    anywhere = attrs_evolve(x, same_item=None)
    assert _conflicting(anywhere, two_certificates) == (("outcome", "a"), ("outcome", "b"))


def attrs_evolve(x, **changes):
    import attrs

    return attrs.evolve(x, **changes)


def test_unused_parameters_unconcluded_codes_and_unwritten_notes(tmp_path):
    path = edited(tmp_path,
                  ("[parameters.in_force_from]", '[parameters.never_read]\nvalue = 7\ntype = "number"\nclause = "M9-1"\n\n'
                                                 "[parameters.in_force_from]"),
                  ("[outcomes.recognize_junior_title]", '[outcomes.nobody_gets_this]\nclause = "M9-2a"\nzh = "无"\nen = "none"\n\n'
                                                        "[outcomes.recognize_junior_title]"),
                  ("[labels.note_headings]\n", '[labels.note_headings]\nnever_written = { zh = "从不", en = "never" }\n'))
    found = static_findings(load_policy(path, CROSSOVER))
    measure9 = "tairenshefa-2025-5.measure9"
    assert found == {"unused_parameters": [(measure9, "never_read")],
                     "unconcluded_codes": [(measure9, "nobody_gets_this")],
                     "unwritten_notes": [(measure9, "never_written")]}
    assert static_findings(default_policy()) == {"unused_parameters": [], "unconcluded_codes": [],
                                                 "unwritten_notes": []}


@pytest.mark.parametrize("entry, message", [
    ('codes = ["recognize_junior_title", "no_such_code"]', "'no_such_code' is not an outcome code"),
    ('codes = ["recognize_junior_title"]', "two or more"),
    ('codes = ["recognize_junior_title", "note:no_such_note"]', "no rule of this document writes the note"),
    ('codes = ["recognize_junior_title", "maybe:apply_junior_title"]', "'maybe' is not one of outcome, not_met, note"),
    ('codes = ["recognize_junior_title", "apply_junior_title"]\nsame_item = "county"', "same_item 'county'"),
])
def test_a_bad_exclusive_declaration_names_its_entry(tmp_path, entry, message):
    path = edited(tmp_path, ("[exclusive.one-certificate-one-level]",
                             f'[exclusive.bad]\nclause = "M9-2a"\n{entry}\n\n[exclusive.one-certificate-one-level]'))
    with pytest.raises(RulesetError) as caught:
        load_policy(path, CROSSOVER)
    assert any(p.startswith("[exclusive.bad]") and message in p for p in caught.value.problems), caught.value.problems


def test_the_search_leaves_hypothesis_settings_and_profiles_alone():
    before = (hypothesis.settings.default, hypothesis.settings._current_profile,
              dict(hypothesis.settings._profiles))
    search(default_policy(), seconds=600, max_records=50)
    after = (hypothesis.settings.default, hypothesis.settings._current_profile,
             dict(hypothesis.settings._profiles))
    assert before == after


def test_the_search_is_reproducible():
    a = search(default_policy(), seconds=600, max_records=300)
    b = search(default_policy(), seconds=600, max_records=300)
    assert (a.rules, a.outcomes, a.applicants, a.lists) == (b.rules, b.outcomes, b.applicants, b.lists)


def test_ruleset_check_coverage_prints_its_bound_and_strict_fails_on_a_finding(capsys, tmp_path):
    path = edited(tmp_path, (
        'when = [\n  "cert: held_certificate where kind == \'professional_level\' and level == \'junior\'",',
        'when = [\n  "ctx: in_force",\n  "old: context where as_of < $in_force_from",\n'
        '  "cert: held_certificate where kind == \'professional_level\' and level == \'junior\'",'))
    status = main(["ruleset", "check", str(path), str(CROSSOVER), "--coverage", "--seconds", "3"])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "searching for at most 3 s" in out and "(bound 3 s;" in out
    assert "warning: rule 'M9-2a-junior'" in out or "rules fired" in out  # 3 s on a busy machine may stop early
    status = main(["ruleset", "check", str(path), str(CROSSOVER), "--coverage", "--seconds", "3", "--strict"])
    capsys.readouterr()
    assert status == 1  # at least the swap-only rule and the impossible junior rule are reported


def test_ruleset_check_coverage_exits_1_on_an_overlap(capsys, tmp_path):
    path = edited(tmp_path, ("[exclusive.one-certificate-one-level]",
                             '[exclusive.made-up]\nclause = "M9-2a"\ncodes = ["recognize_junior_title", '
                             '"technical_may_apply_skill_level"]\n\n[exclusive.one-certificate-one-level]'))
    status = main(["ruleset", "check", str(path), str(CROSSOVER), "--coverage", "--seconds", "20"])
    out, _ = capsys.readouterr()
    assert status == 1
    line = next(line for line in out.splitlines() if "exclusive 'made-up'" in line)
    record = json.loads(line.split("counterexample: ", 1)[1])
    assert {"recognize_junior_title", "technical_may_apply_skill_level"} <= set(
        tt.evaluate(record, policy=load_policy(path, CROSSOVER)).codes)


def test_seconds_must_be_positive(capsys):
    status = main(["ruleset", "check", str(MEASURE9), str(CROSSOVER), "--coverage", "--seconds", "0"])
    _, err = capsys.readouterr()
    assert status == 2 and "--seconds must be more than 0" in err


def test_a_rule_expected_not_to_fire_is_no_failure_for_strict(capsys):
    argv = ["ruleset", "check", str(MEASURE9), str(CROSSOVER), "--coverage", "--seconds", "120", "--strict",
            "--expect-unreached", SWAP_ONLY]
    status = main(argv)
    out, err = capsys.readouterr()
    assert status == 0, out + err
    assert f"expected: rule '{SWAP_ONLY}'" in out and "warning:" not in out
    assert "stopped early" in out  # every other rule fired well before 120 s
    assert main(["ruleset", "check", str(MEASURE9), "--coverage", "--expect-unreached", "no-such-rule"]) == 2
    assert "--expect-unreached no-such-rule: no rule of the policy has this id" in capsys.readouterr().err
