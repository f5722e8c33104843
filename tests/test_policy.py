"""The compiled policy: made once from one or more documents, carried by every result, freed when dropped.

Policy owners compose documents (measure nine, the documents it puts into effect); an HR
office reloads an edited ruleset in a long-running service.  These tests hold the policy to
what both expect: everything per ruleset hangs off the policy object, renderings use the
result's own policy, documents refer to each other's facts only when loaded together, and the
names the engine adapter keeps for itself are refused.
"""

from __future__ import annotations

import ast
import gc
import json
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

import taian_titles as tt
from taian_titles.errors import RulesetError
from taian_titles.render import render_decision, render_quota_report
from taian_titles.ruleset import default_ruleset_path, parse_ruleset

from .test_exchange import GOOD

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = default_ruleset_path().read_text("utf-8")
CITY = json.loads((ROOT / "examples" / "city-2025.json").read_text("utf-8"))


def edited(tmp_path: Path, old: str, new: str, name: str = "edited.toml") -> Path:
    assert SHIPPED.count(old) >= 1, old
    path = tmp_path / name
    path.write_text(SHIPPED.replace(old, new), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- one object, freed when dropped

def test_loading_using_and_dropping_a_hundred_edited_rulesets_keeps_memory_flat():
    # In a child process, so that the figure is this test's alone.
    code = f"""
import gc, json, os, sys, tempfile
sys.path.insert(0, {str(ROOT)!r})
import taian_titles as tt
from taian_titles.ruleset import default_ruleset_path
text = default_ruleset_path().read_text("utf-8")
record = json.loads({json.dumps(GOOD)!r})
lists = json.loads(open({str(ROOT / "examples" / "city-2025.json")!r}, encoding="utf-8").read())
folder = tempfile.mkdtemp()
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
def once(n):
    path = os.path.join(folder, f"edited-{{n}}.toml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace("value = 3\\n", f"value = {{3 + n % 5}}\\n", 1))
    policy = tt.load_policy(path)
    assert tt.evaluate(record, policy=policy).ruleset["digest"] == policy.ref()["digest"]
    tt.city_report(lists, policy=policy)
for n in range(5):
    once(n)
gc.collect()
before = rss()
for n in range(100):
    once(n)
gc.collect()
print(rss() - before)
"""
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert child.returncode == 0, child.stderr
    grown = int(child.stdout.strip())
    assert grown < 50 * 2**20, f"RSS grew by {grown / 2**20:.1f} MB over 100 loads"


def test_a_dropped_policy_is_freed_with_its_compiled_rules():
    policy = tt.load_policy(default_ruleset_path())
    tt.evaluate(GOOD, policy=policy)
    engine_finalizer = policy.engine._finalizer
    assert engine_finalizer.alive
    dead = weakref.ref(policy)
    del policy
    gc.collect()
    assert dead() is None and not engine_finalizer.alive  # the C rulesets were deleted


def test_a_decision_carries_its_policy_and_every_document_it_used():
    policy = tt.load_policy(default_ruleset_path())
    decision = tt.evaluate(GOOD, policy=policy)
    assert decision.policy is policy
    assert decision.to_dict()["rulesets"] == policy.refs() == [decision.to_dict()["ruleset"]]


def test_the_quota_report_quotes_the_policy_it_was_made_with_not_the_shipped_one(tmp_path):
    path = edited(tmp_path, "数字领域技能人才占比不低于20%。", "数字领域技能人才占比不低于25%。")
    version = tt.default_ruleset().version
    path.write_text(path.read_text("utf-8").replace(f'version = "{version}"', f'version = "{version}+office.1"')
                    .replace('value = "20%"', 'value = "25%"'), encoding="utf-8")
    policy = tt.load_policy(path)
    report = tt.city_report(CITY, policy=policy)
    for fmt in ("text", "markdown", "html"):
        out = render_quota_report(report, fmt, "zh")
        assert "不低于25%" in out and "不低于20%" not in out
        assert f"{version}+office.1" in out and policy.ref()["digest"] in out


def test_a_letter_names_titles_as_the_policy_it_came_from_does(tmp_path):
    path = edited(tmp_path, 'junior = { zh = "初级（助理工程师）"', 'junior = { zh = "初级（助理级）"')
    decision = tt.evaluate(GOOD, policy=tt.load_policy(path))
    assert "可直接认定的最高职称：初级（助理级）" in render_decision(decision, "text", "zh")
    assert "初级（助理工程师）" in render_decision(tt.evaluate(GOOD), "text", "zh")


# --------------------------------------------------------------------------- documents that compose

OTHER = """
[ruleset]
id = "test.other"
version = "0.1"
document = "测试文件"
title = "测试"
issued_on = 2025-01-01

[clauses.T-1]
zh = "持有专业技术等级证书的，另有说明。"

[outcomes.other_note_given]
clause = "T-1"
zh = "另有说明"
en = "another note"

[[rules]]
id = "T-1"
clause = "T-1"
stage = "outcome"
when = ["cert: held_certificate where kind == 'professional_level'"]
then = { outcome = "other_note_given", basis = ["cert"] }
explain.zh = "证书{cert.number}另有说明。"
explain.en = "Certificate {cert.number} has another note."
"""


def test_a_document_may_use_facts_another_derives_when_they_are_loaded_together(tmp_path):
    other = tmp_path / "other.toml"
    other.write_text(OTHER, encoding="utf-8")
    policy = tt.load_policy(default_ruleset_path(), other)
    decision = tt.evaluate(GOOD, policy=policy)
    assert "other_note_given" in decision.codes and "recognize_junior_title" in decision.codes
    data = decision.to_dict()
    assert [r["id"] for r in data["rulesets"]] == ["tairenshefa-2025-5.measure9", "test.other"]
    assert data["ruleset"]["id"] == "tairenshefa-2025-5.measure9"
    assert decision.outcome("other_note_given").clause_text == "持有专业技术等级证书的，另有说明。"
    letter = render_decision(decision, "text", "zh")
    assert "测试文件《测试》" in letter and "泰人社发〔2025〕5号" in letter


def test_a_document_that_needs_a_fact_no_loaded_document_derives_is_a_load_error(tmp_path):
    other = tmp_path / "other.toml"
    other.write_text(OTHER, encoding="utf-8")
    with pytest.raises(RulesetError, match="unknown fact type 'held_certificate'; no document of the policy"):
        tt.load_policy(other)
    with pytest.raises(RulesetError, match="held_certificate"):
        tt.load_ruleset(other)


def test_rule_and_clause_ids_are_unique_across_documents(tmp_path):
    other = tmp_path / "other.toml"
    other.write_text(OTHER.replace('id = "T-1"', 'id = "M9-2b"'), encoding="utf-8")
    with pytest.raises(RulesetError, match="rule 'M9-2b': the id is also used in"):
        tt.load_policy(default_ruleset_path(), other)
    other.write_text(OTHER.replace("T-1", "M9-1"), encoding="utf-8")
    with pytest.raises(RulesetError, match=r"\[clauses.M9-1\]: the id is also used in"):
        tt.load_policy(default_ruleset_path(), other)


def test_the_command_takes_several_rulesets(tmp_path, capsys):
    from taian_titles.cli import main
    other = tmp_path / "other.toml"
    other.write_text(OTHER, encoding="utf-8")
    source = tmp_path / "a.json"
    source.write_text(json.dumps(GOOD, ensure_ascii=False), encoding="utf-8")
    assert main(["evaluate", str(source), "--ruleset", str(default_ruleset_path()), "--ruleset", str(other)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in out["rulesets"]] == ["tairenshefa-2025-5.measure9", "test.other"]
    assert main(["ruleset", "check", str(default_ruleset_path()), str(other)]) == 0
    assert capsys.readouterr().out.count("OK ") == 2
    assert main(["ruleset", "check", str(other)]) == 1
    assert "unknown fact type 'held_certificate'" in capsys.readouterr().err


# --------------------------------------------------------------------------- what the loader refuses

@pytest.mark.parametrize("reserved", ["opened__", "catch_all__", "t__x", "my_rule__"])
def test_the_adapters_own_rule_ids_are_refused(reserved):
    text = SHIPPED.replace('id = "M9-2b"', f'id = "{reserved}"')
    with pytest.raises(RulesetError) as caught:
        parse_ruleset(text.encode(), "t.toml")
    assert any(f"the id {reserved!r} is reserved for the engine adapter" in p for p in caught.value.problems)


def test_a_fact_type_or_alias_of_the_adapter_is_refused():
    text = SHIPPED.replace('then = { derive = "held_certificate", copy = "cert"',
                           'then = { derive = "stage__", copy = "cert"')
    with pytest.raises(RulesetError, match="'stage__' is reserved"):
        parse_ruleset(text.encode(), "t.toml")


@pytest.mark.parametrize("old, new, message", [
    ('[parameters.digital_directions]\nvalue', '[parameters.digital_directionz]\nvalue',
     "[parameters.digital_directions]: missing; Python reads it (type list) to derive the certificate facts"),
    ('value = "20%"\ntype = "share"', 'value = "20%"\ntype = "text"',
     "share = 'quota_share': parameter quota_share is of type 'text', not 'share'"),
    ('years = "required_years"', 'years = "in_force_from"',
     "parameter in_force_from is of type 'date', not 'years'"),
    ('[counts.work_time]', '[counts.work_hours]', "Python counts no such fact; it counts: work_time"),
])
def test_the_parameters_and_counts_python_relies_on_are_checked(old, new, message):
    assert old in SHIPPED
    # (the rule that tests work against the directions names them itself here, so that only
    # what Python reads is missing)
    text = SHIPPED.replace("direction in $digital_directions", "direction in ['人工智能']").replace(
        "direction not in $digital_directions", "direction not in ['人工智能']").replace(
        "{$digital_directions}", "人工智能")
    with pytest.raises(RulesetError) as caught:
        parse_ruleset(text.replace(old, new).encode(), "t.toml")
    assert any(message in p for p in caught.value.problems), caught.value.problems


def test_none_tests_a_value_that_does_not_exist():
    # M9-2d's not-met rules tell work that goes on (eligible_on exists) from work that ended.
    record = dict(GOOD, as_of="2025-06-01")
    ongoing = tt.evaluate(record).to_dict()["not_met"][0]
    assert ongoing["eligible_on"] == "2025-11-20" and ongoing["rules"] == ["M9-2d-not-met-work-continues"]
    ended = dict(record, work_periods=[{**GOOD["work_periods"][0], "end": "2024-12-31"}])
    entry = tt.evaluate(ended).to_dict()["not_met"][0]
    assert entry["eligible_on"] is None and entry["rules"] == ["M9-2d-not-met-work-ended"]
    with pytest.raises(RulesetError, match="a missing value can only be tested with == or !="):
        parse_ruleset(SHIPPED.replace("eligible_on != none", "eligible_on > none", 1).encode(), "t.toml")


# --------------------------------------------------------------------------- policy knowledge is data

_POLICY_WORDS = ("M9-", "第九条", "泰人社发", "助理工程师", "20%", "measure nine", "senior_worker", "高级工")


def _code_strings(path: Path) -> list[tuple[int, str]]:
    """The string literals of a module that are not docstrings."""
    tree = ast.parse(path.read_text("utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


@pytest.mark.parametrize("module", sorted(p.name for p in (ROOT / "taian_titles").glob("*.py")
                                          if p.name not in ("model.py", "strategies.py")))
def test_python_names_no_clause_level_or_percentage_of_the_policy(module):
    # model.py holds the exchange format's enumerations (the skill levels' names among them);
    # strategies.py generates test data at the policy's edges.  Everything else reads the policy.
    found = [(line, text) for line, text in _code_strings(ROOT / "taian_titles" / module)
             if any(word in text for word in _POLICY_WORDS)]
    assert not found, found


def test_no_product_file_points_into_the_teams_working_material():
    for folder in ("taian_titles", "rulesets", "docs"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in (".py", ".toml", ".md"):
                assert "shared/" not in path.read_text("utf-8"), path
    assert "shared/" not in (ROOT / "README.md").read_text("utf-8")
