"""The JSON Schemas of the exchange format: valid draft 2020-12, generated from the model so that
they follow it, equal to the checked-in copies, and true of every example, of the records the
public strategies generate and of every answer the library gives for them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import attrs
import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import taian_titles as tt
from taian_titles import schema as S
from taian_titles import strategies as ts
from taian_titles.api import evaluate_record
from taian_titles.cli import main
from taian_titles.errors import MESSAGES
from taian_titles.exchange import EXCHANGE_VERSION

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CHECKED_IN = ROOT / "schemas"

STRICT = S.schemas(strict=True)
OPEN = S.schemas()


def validator(name: str, strict: bool = True) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator((STRICT if strict else OPEN)[name],
                                           format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


VALIDATORS = {name: validator(name) for name in S.NAMES}


def check(name: str, instance: Any) -> None:
    errors = sorted(VALIDATORS[name].iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, f"{name}: " + "; ".join(f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors[:5])


def valid(name: str, instance: Any) -> bool:
    return VALIDATORS[name].is_valid(instance)


# --------------------------------------------------------------------------- the schemas themselves

@pytest.mark.parametrize("name", list(S.NAMES))
def test_every_schema_is_valid_draft_2020_12_and_versioned(name):
    for document in (OPEN[name], STRICT[name]):
        jsonschema.Draft202012Validator.check_schema(document)
        assert document["$schema"] == S.DIALECT
        assert document["$id"] == f"urn:taian-titles:exchange:{EXCHANGE_VERSION}:{name}"


def test_the_checked_in_copies_are_what_the_code_generates():
    """`make schemas` writes them; a change of the model or the policy shows here and in review."""
    files = {p.name: p.read_text("utf-8") for p in CHECKED_IN.glob("*.json")}
    expected = {f"{name}.schema.json": S.dumps(document) for name, document in OPEN.items()}
    expected["openapi.json"] = S.dumps(S.openapi())
    assert sorted(files) == sorted(expected)
    for name, text in expected.items():
        assert files[name] == text, f"schemas/{name} is stale: run `make schemas`"


def test_every_field_of_every_record_is_in_its_schema():
    """Generated from the attrs fields: a field the model gains is in the schema by itself."""
    defs = S.definitions()
    records = [tt.Applicant, tt.Certificate, tt.WorkPeriod, tt.SkillLevelRecord, tt.Title, tt.Achievement,
               tt.RecommendationList, tt.Candidate]
    for cls in records:
        body = defs[cls.__name__]
        assert set(body["properties"]) - {"exchange_version"} == {f.name for f in attrs.fields(cls)}
        assert set(body["required"]) == {f.name for f in attrs.fields(cls) if f.default is attrs.NOTHING}
    assert defs["Level"]["enum"] == [m.code for m in tt.Level]
    assert defs["SkillLevel"]["x-labels"]["technician"] == {"zh": "技师", "en": "technician"}


def test_a_new_field_appears_by_itself():
    @attrs.frozen
    class Extended:
        id: str
        on: dt.date | None = None
        levels: tuple[tt.Level, ...] = ()
        name: str | None = None

    attrs.resolve_types(Extended, globals(), locals())
    Extended.__module__ = "taian_titles.model"  # read as a record of the model
    builder = S._Builder(tt.default_policy())
    builder.record(Extended)
    body = builder.defs["Extended"]
    assert body["required"] == ["id"] and body["additionalProperties"] is False
    assert body["properties"]["name"] == {"type": ["string", "null"]}
    assert body["properties"]["levels"] == {"type": "array", "items": {"$ref": "#/$defs/Level"}}


def test_outcome_codes_are_enums_with_the_policy_labels():
    defs = S.definitions()
    policy = tt.default_policy()
    outcomes = {code: policy.outcome(code) for d in policy.documents for code in d.outcomes}
    enum = defs["OutcomeCode"]
    assert set(enum["enum"]) <= set(outcomes) and "recognize_junior_title" in enum["enum"]
    assert "crossover_apply_engineer" in enum["enum"]  # every document's codes
    for code in enum["enum"]:
        assert enum["x-labels"][code] == {"clause": outcomes[code]["clause"], "zh": outcomes[code]["zh"],
                                          "en": outcomes[code]["en"]}
    assert defs["QuotaCode"]["enum"] == [policy.quota_outcome()[0]]
    assert "certificate_revoked" in defs["NoteCode"]["enum"]
    assert set(defs["ProblemCode"]["enum"]) == set(MESSAGES) - {"internal_error"}
    assert defs["Direction"]["enum"] == list(policy.directions)


def test_the_command_prints_each_schema(capsys):
    assert main(["schema", "decision"]) == 0
    assert json.loads(capsys.readouterr().out) == OPEN["decision"]
    assert main(["schema", "openapi"]) == 0
    assert json.loads(capsys.readouterr().out) == S.openapi()
    assert main(["schema"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in S.NAMES)
    assert main(["schema", "nonsense"]) == 2


# --------------------------------------------------------------------------- examples

def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text("utf-8").splitlines() if line.strip()]


def _example_files() -> list[Path]:
    return sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".json", ".jsonl", ".csv", ".xlsx"))


def _json_records(path: Path) -> list[Any]:
    """The records of a JSON example: an object, an array or JSON Lines (lines that are not JSON left out)."""
    if path.suffix == ".json":
        data = json.loads(path.read_text("utf-8"))
        return data if isinstance(data, list) else [data]
    records = []
    for line in _lines(path):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return records


def _is_lists(path: Path) -> bool:
    if path.suffix not in (".json", ".jsonl"):
        return False
    return any(isinstance(r, dict) and "candidates" in r for r in _json_records(path))


def test_every_example_record_the_library_reads_is_valid_and_every_invalid_one_is_refused():
    accepted = refused = 0
    for path in _example_files():
        if path.suffix not in (".json", ".jsonl"):
            continue  # a roster is in its own spellings (column headers, Chinese names): its answers are checked below
        lists = _is_lists(path)
        for record in _json_records(path):
            try:
                (tt.check_quota if lists else tt.evaluate)(record, as_of="2025-06-01")
            except tt.InputError as exc:
                refused += 1
                cross_field = {"duplicate_number", "end_before_start"}  # beyond what a schema says
                if not {p.code for p in exc.problems} <= cross_field:
                    assert not valid("recommendation-list" if lists else "applicant", record), (path, record, exc)
            else:
                accepted += 1
                check("recommendation-list" if lists else "applicant", record)
    assert accepted >= 4 and refused >= 2


def _answers(capsys: pytest.CaptureFixture[str], *argv: str) -> list[Any]:
    main([*argv, "--no-progress", "--format", "jsonl"])
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize("path", _example_files(), ids=lambda p: p.name)
def test_every_answer_to_every_example_is_valid(capsys, path):
    lists = _is_lists(path)
    answers = _answers(capsys, "quota" if lists else "evaluate", str(path))
    assert answers
    for answer in answers:
        if lists:
            check("quota-answer", answer)
            check("quota-error-entry" if "error" in answer else "quota-result", answer)
        else:
            check("evaluate-answer", answer)
            check("error-entry" if "error" in answer else "decision", answer)


# --------------------------------------------------------------------------- generated records

META = st.one_of(st.none(), st.dictionaries(st.text(max_size=8), st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=8), st.lists(st.integers(), max_size=3)), max_size=3))


@given(ts.applicant_dicts(max_items=3), META)
@settings(max_examples=60)
def test_generated_applicants_and_their_decisions_are_valid(record, meta):
    if meta is not None:
        record = {**record, "meta": meta}
    check("applicant", record)
    answer = evaluate_record(0, record, as_of=None)
    check("decision", answer.to_dict())
    check("evaluate-answer", answer.to_dict())


@given(ts.recommendation_list_dicts(max_size=12), META)
@settings(max_examples=40)
def test_generated_lists_and_their_results_are_valid(record, meta):
    if meta is not None:
        record = {**record, "meta": meta}
    check("recommendation-list", record)
    check("quota-result", tt.check_quota(record).to_dict())


@given(ts.invalid_applicant_dicts(max_items=2))
@settings(max_examples=60)
def test_generated_bad_records_get_valid_error_entries_and_most_are_refused_by_the_schema(case):
    record, path = case
    entry = evaluate_record(0, record, as_of=dt.date(2025, 6, 1)).to_dict()
    check("error-entry", entry)
    check("error", entry["error"])
    codes = {p["code"] for p in entry["error"]["problems"]}
    if not codes <= {"duplicate_number", "end_before_start"}:
        assert not valid("applicant", record), entry


@given(ts.invalid_recommendation_list_dicts())
@settings(max_examples=30)
def test_generated_bad_lists_get_valid_error_entries(case):
    record, _ = case
    report = tt.city_report([record])
    for entry in (r.to_dict() for r in report.results):
        check("quota-answer", entry)
    if report.errors:
        check("quota-error-entry", report.errors[0].to_dict())
        assert not valid("recommendation-list", record)


def test_an_internal_fault_entry_is_valid(monkeypatch):
    import taian_titles.api as api

    def broken(record: Any, **kw: Any) -> Any:
        raise RuntimeError("simulated fault")

    monkeypatch.setattr(api, "evaluate", broken)
    entry = evaluate_record(0, {"id": "A-1", "meta": {"k": 1}}, as_of=None).to_dict()
    check("error-entry", entry)
    assert entry["error"]["kind"] == "internal" and entry["meta"] == {"k": 1}


def test_strict_schemas_catch_a_field_the_schema_does_not_know():
    decision = tt.evaluate({"id": "A-1", "as_of": "2025-06-01"}).to_dict()
    check("decision", decision)
    assert not valid("decision", {**decision, "surprise": 1})
    assert validator("decision", strict=False).is_valid({**decision, "surprise": 1})  # clients: open
    assert not valid("decision", {k: v for k, v in decision.items() if k != "exchange_version"})
