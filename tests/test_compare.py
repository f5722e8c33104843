"""Comparing two versions of a policy on one population (taian_titles.compare, `taian-titles compare`)."""

from __future__ import annotations

import datetime as _dt
import json
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import taian_titles as tt
from taian_titles import strategies as ts
from taian_titles.cli import main
from taian_titles.compare import compare, generated_population, render_comparison
from taian_titles.exchange import applicant_to_dict
from taian_titles.policy import default_policy, load_policy, reform_policy
from taian_titles.ruleset import default_ruleset_path
from taian_titles.worktime import add_years

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
APPLICANTS = EXAMPLES / "applicants.jsonl"
ROSTER = EXAMPLES / "roster.csv"
CITY = EXAMPLES / "city-2025.json"
TWO_YEARS = EXAMPLES / "reform-2-years.toml"
BOTH = EXAMPLES / "reform-2-years-25-percent.toml"
MEASURE9 = default_ruleset_path()
CROSSOVER = default_ruleset_path("lurenshefa-2020-16.toml")
DOCS = ROOT / "docs" / "policy-owners.md"


@pytest.fixture(scope="module")
def reform():
    return reform_policy(default_policy(), BOTH)


def separately(records, base, reform):
    """What each record gets under each policy, evaluated one by one with the public API."""
    out = []
    for record in records:
        if "candidates" in record:
            a, b = tt.check_quota(record, policy=base), tt.check_quota(record, policy=reform)
            out.append(({a.code} if a.meets_quota else set(), {b.code} if b.meets_quota else set(),
                        (a.meets_quota, a.required_digital) != (b.meets_quota, b.required_digital)))
        else:
            a, b = tt.evaluate(record, policy=base), tt.evaluate(record, policy=reform)
            key = lambda d: (set(d.codes), {(n.code, n.eligible_on) for n in d.not_met},  # noqa: E731
                             d.highest_recognized_title, {n.code for n in d.notes})
            out.append((set(a.codes), set(b.codes), key(a) != key(b)))
    return out


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


# --------------------------------------------------------------------------- the reform policy

def test_a_reform_file_replaces_the_document_with_its_id_and_keeps_the_others(reform):
    base = default_policy()
    assert [d.id for d in reform.documents] == [d.id for d in base.documents]
    assert reform.documents[0].version == "1.2.0-draft" and reform.documents[1] is base.documents[1]
    assert reform.param("required_years") == 2 and str(reform.param("quota_share")) == "1/4"


def test_comparing_a_policy_with_itself_changes_nothing_applicants_and_lists(tmp_path):
    copy = tmp_path / "same-rules-new-version.toml"  # another digest: evaluated twice, not skipped
    copy.write_text(MEASURE9.read_text("utf-8").replace('version = "1.1.1"', 'version = "1.1.2"', 1), "utf-8")
    for roster in (APPLICANTS, ROSTER, CITY):
        for reform in (MEASURE9, copy):
            c = compare(roster, reform=reform)
            assert c.changed == 0 and c.changes == () and c.errors == 0 and c.records > 0
            assert all(n.gained == n.lost == n.moved == n.changed == 0 for n in c.codes.values())
            assert all(n.before == n.after for n in c.codes.values())
            assert c.same_policy == (reform == MEASURE9)
    city = compare(CITY, reform=copy)
    assert city.codes["digital_share_quota"].before == sum(1 for r in json.loads(CITY.read_text("utf-8"))
                                                           if tt.check_quota(r).meets_quota)


def test_the_documented_example_on_the_bundled_applicants(reform):
    records = lines(APPLICANTS)
    c = compare(records, reform=BOTH)
    expected = separately(records, default_policy(), reform)
    assert c.records == len(records) and c.changed == sum(changed for *_, changed in expected)
    for code, counts in c.codes.items():
        assert counts.gained == sum(code in after and code not in before for before, after, _ in expected)
        assert counts.lost == sum(code in before and code not in after for before, after, _ in expected)
    # A-0001: an intermediate training certificate and 2 years 6 months of work: 3 years not
    # met (eligible on 2025-11-20), 2 years met.
    (a1,) = [ch for ch in c.changes if ch.id == "A-0001"]
    assert a1.gained == ("apply_intermediate_title",) and a1.lost == ()
    assert ("not_met:apply_intermediate_title", "2025-11-20", None) in a1.other


def test_the_documented_example_on_the_city_lists(reform):
    lists = json.loads(CITY.read_text("utf-8"))
    c = compare(lists, reform=BOTH, group_by="unit")
    expected = separately(lists, default_policy(), reform)
    n = c.codes["digital_share_quota"]
    assert n.lost == sum(bool(before) and not after for before, after, _ in expected) > 0
    assert n.gained == 0  # a higher share can only make a list miss it
    assert c.changed == sum(changed for *_, changed in expected)
    assert set(c.groups) == {r["unit"] for r in lists}
    assert sum(g.records for g in c.groups.values()) == c.records


def test_eligible_on_moves_a_year_earlier_when_three_years_become_two():
    as_of = _dt.date(2025, 6, 1)
    start = _dt.date(2024, 9, 1)  # nine months of work, ongoing: short of either requirement
    record = {"id": "M-1", "as_of": as_of.isoformat(),
              "certificates": [{"number": "T-1", "programme": "digital_technology_engineer", "kind": "training",
                                "level": "intermediate", "direction": "人工智能", "issued_on": "2024-11-20"}],
              "work_periods": [{"start": start.isoformat(), "kind": "professional_technical", "direction": "人工智能"}]}
    c = compare([record], reform=TWO_YEARS)
    (change,) = c.changes
    assert change.moved == (("apply_intermediate_title", add_years(start, 3).isoformat(),
                             add_years(start, 2).isoformat()),)
    assert c.codes["apply_intermediate_title"].moved == 1 and c.codes["apply_intermediate_title"].gained == 0


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(ts.applicants_at_edges(), min_size=1, max_size=6))
def test_compare_agrees_with_evaluating_under_each_policy(applicants):
    base, reform = default_policy(), reform_policy(default_policy(), BOTH)
    records = [applicant_to_dict(a) for a in applicants]
    c = compare(records, base, reform)
    expected = separately(records, base, reform)
    assert c.changed == sum(changed for *_, changed in expected)
    assert [ch.index for ch in c.changes] == [i for i, (*_, changed) in enumerate(expected) if changed]
    for ch, (before, after, _) in zip(c.changes, [e for e in expected if e[2]]):
        assert set(ch.gained) == after - before and set(ch.lost) == before - after


def test_a_generated_population_grouped_by_county():
    population = generated_population(120, seed=7)
    assert [a.id for a in population[:2]] == ["G-00001", "G-00002"] and len(population) == 120
    assert generated_population(120, seed=7) == population  # the same for the same seed
    c = compare(population, reform=TWO_YEARS, group_by="county")
    assert c.records == 120 and sum(g.records for g in c.groups.values()) == 120
    assert sum(g.changed for g in c.groups.values()) == c.changed
    for code, total in c.codes.items():
        assert sum(g.codes[code].gained for g in c.groups.values()) == total.gained
    # Fewer years can only open the intermediate route: nobody loses it.
    assert c.codes["apply_intermediate_title"].lost == 0


def test_bad_records_are_counted_not_compared(tmp_path):
    c = compare(EXAMPLES / "applicants-with-errors.jsonl", reform=BOTH)
    assert c.errors > 0 and c.records == len([1 for line in (EXAMPLES / "applicants-with-errors.jsonl")
                                              .read_text("utf-8").splitlines() if line.strip()])
    assert all(ch.other == () or ch.other[0][0] != "error" for ch in c.changes)


def test_a_record_only_one_policy_refuses_is_a_change(tmp_path):
    # The reform drops the direction 密码工程 from the programme: a certificate in it becomes bad input.
    text = MEASURE9.read_text("utf-8")
    text = text.replace(', "数据安全", "密码工程"]', ', "数据安全"]', 1).replace(
        '"密码工程" = { zh = "密码工程", en = "cryptography engineering" }\n', "", 1)
    reform = tmp_path / "fewer-directions.toml"
    reform.write_text(text, "utf-8")
    record = {"id": "D-1", "as_of": "2025-06-01", "certificates": [
        {"number": "C-1", "programme": "digital_technology_engineer", "kind": "professional_level",
         "level": "junior", "direction": "密码工程", "issued_on": "2024-01-01"}]}
    (change,) = compare([record], reform=reform).changes
    assert change.lost and change.other[-1] == ("error", None, "unknown_value")


def test_group_by_employer_takes_the_latest_work():
    record = {"id": "E-1", "as_of": "2025-06-01", "work_periods": [
        {"start": "2018-01-01", "end": "2020-12-31", "kind": "professional_technical", "direction": "人工智能",
         "employer": "甲公司"},
        {"start": "2021-01-01", "kind": "professional_technical", "direction": "人工智能", "employer": "乙公司"}]}
    c = compare([record], reform=BOTH, group_by="employer")
    assert list(c.groups) == ["乙公司"]


# --------------------------------------------------------------------------- renderings and the command

def test_renderings(reform):
    c = compare(ROSTER, reform=BOTH, group_by="县区")
    data = json.loads(render_comparison(c, "json"))
    assert data["changed"] == c.changed and data["codes"]["apply_intermediate_title"]["gained"] == \
        c.codes["apply_intermediate_title"].gained
    assert [x["id"] for x in data["changes"]] == [ch.id for ch in c.changes]
    assert "tairenshefa-2025-5.measure9: parameter required_years: 3 → 2" in data["differences"]
    zh = render_comparison(c, "text", "zh")
    assert "政策修订影响对比" in zh and "新获得" in zh and "A-0001" in zh
    en = render_comparison(c, "markdown", "en")
    assert "| outcome | before | after | gained | lost | eligible_on moved |" in en and "## by 县区" in en
    page = render_comparison(c, "html", "en")
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "<svg" in page
    bars = dict(re.findall(r'data-code="([a-z_]+)" data-gained="(\d+)"', page))
    assert bars["apply_intermediate_title"] == str(c.codes["apply_intermediate_title"].gained)
    assert page.count('class="change"') == c.changed


def test_the_command_writes_each_format(capsys, tmp_path):
    out = tmp_path / "report.html"
    assert main(["compare", str(CITY), "--reform", str(BOTH), "--format", "html", "-o", str(out), "--lang", "en"]) == 0
    assert "<svg" in out.read_text("utf-8")
    capsys.readouterr()
    assert main(["compare", str(ROSTER), "--reform", str(TWO_YEARS), "--format", "json", "--group-by", "县区"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["group_by"] == "县区" and data["changed"] == 1 and data["changes"][0]["id"] == "A-0001"
    assert main(["compare", str(ROSTER), "--base", str(MEASURE9), "--base", str(CROSSOVER),
                 "--reform", str(MEASURE9), "--format", "markdown"]) == 0
    assert "结果有变化 0" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["compare", str(ROSTER), "--reform", "no-such.toml"], "no such file: no-such.toml"),
    (["compare", str(ROSTER)], "--reform"),
    (["compare", str(ROSTER), "--reform", str(BOTH), "--group-by", "省份"], "--group-by 省份: the roster has no such column"),
    (["compare", str(ROSTER), "--reform", str(BOTH), "--format", "pdf"], "invalid choice: 'pdf'"),
])
def test_the_command_refuses_bad_arguments_in_one_line(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_reform_that_does_not_load_names_the_file_and_problem(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(MEASURE9.read_text("utf-8").replace("value = 3\n", 'value = "three"\n', 1), "utf-8")
    assert main(["compare", str(APPLICANTS), "--reform", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "unusable reform" in err and str(bad) in err and "required_years" in err


# --------------------------------------------------------------------------- the documentation's example

def test_the_documented_commands_run_as_written(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    text = DOCS.read_text("utf-8")
    commands = [line.strip() for line in text.splitlines() if line.strip().startswith("taian-titles compare ")]
    assert len(commands) >= 3
    for command in commands:
        argv = command.split()[1:]
        if "-o" in argv:  # write into the test's folder, not the checkout
            argv[argv.index("-o") + 1] = str(tmp_path / Path(argv[argv.index("-o") + 1]).name)
        assert main(argv) == 0, command
        capsys.readouterr()


def test_the_documented_python_example_runs(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    text = DOCS.read_text("utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, str(DOCS), "exec"), {})
    out = capsys.readouterr().out
    assert "apply_intermediate_title" in out


def test_the_shipped_copy_of_a_ruleset_compares_as_the_same_policy(tmp_path):
    copy = tmp_path / "copy.toml"
    shutil.copy(MEASURE9, copy)
    c = compare(APPLICANTS, reform=load_policy(copy, CROSSOVER))
    assert c.same_policy and c.changed == 0


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(ts.applicants_at_edges())
def test_what_compare_reads_of_the_firings_is_what_the_decision_says(applicant):
    from taian_titles.compare import _decision_key, _firings_key
    from taian_titles.decision import build_decision
    from taian_titles.facts import applicant_facts

    for policy in (default_policy(), reform_policy(default_policy(), BOTH)):
        prepared = policy.prepare(applicant)
        firings = policy.engine.run(applicant_facts(prepared, applicant.as_of, policy.counts))
        decision = build_decision(prepared.id, applicant.as_of, firings, policy)
        assert _firings_key(firings, policy.plans) == _decision_key(decision)


def test_a_generated_population_of_m9_2d_candidates_moves_under_two_years():
    population = generated_population(60, seed=3, strategy=ts.applicants(intermediate_training=True, ongoing_only=True))
    c = compare(population, reform=TWO_YEARS)
    n = c.codes["apply_intermediate_title"]
    assert n.lost == 0 and n.gained + n.moved > 0
    for ch in c.changes:
        for code, before, after in ch.moved:  # two years instead of three: eligible a year earlier or more
            assert code == "apply_intermediate_title" and after is not None and (before is None or after < before)


def test_applicants_and_lists_in_one_input_are_listed_in_input_order():
    lists = json.loads(CITY.read_text("utf-8"))
    records = [lists[0], *lines(APPLICANTS), lists[2]]  # both lists lose the quota at 25%
    c = compare(records, reform=BOTH)
    assert [ch.index for ch in c.changes] == sorted(ch.index for ch in c.changes)
    assert c.changes[0].kind == "list" and c.changes[0].index == 0 and c.changes[-1].index == len(records) - 1
