"""JSON Schemas (draft 2020-12) of the exchange format, generated from the model, and the HTTP
service's OpenAPI document built from them.

Nothing here is written by hand that the code already says: records are read off the attrs
classes of :mod:`taian_titles.model` (their fields, types and defaults) and results off those of
:mod:`taian_titles.decision` and :mod:`taian_titles.api`; enumerations list their codes with
their Chinese and English names; outcome, not-met, note and finding codes and clause ids come
from the loaded policy's rules, with the labels of its documents' ``outcomes`` tables; problem
codes from :data:`taian_titles.errors.MESSAGES`.  A field the model gains appears in the schemas
by itself.  What the code cannot say is the small table :data:`_FIELDS` below (a field whose
JSON is not its Python type, such as a ruleset reference or a share written as a percentage).

The schemas describe the canonical form: enumeration values by their codes, which is what the
library writes.  On input the library also accepts an enumeration's Chinese and English names
and a direction's spellings; those aliases are not listed.  Records are closed (unknown fields
are bad input, as the library reads them unless asked to be lenient); results are open (a
client must ignore fields it does not know: later versions may add some).  ``strict=True``
closes results too (the test suite checks every result it makes against that).

``taian-titles schema NAME`` prints one; ``schemas/`` in the repository (and in the wheel,
``taian_titles/schemas/``) holds them as generated from the shipped policy.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import typing
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Mapping

import attrs

from .api import BatchError
from .decision import Decision, NotMet, Note, Outcome, QuotaError, QuotaFinding, QuotaResult
from .errors import MESSAGES
from .exchange import _NON_EMPTY, EXCHANGE_VERSION, EXCHANGE_VERSIONS
from .model import Applicant, Candidate, Certificate, Labelled, RecommendationList

__all__ = ["NAMES", "DIALECT", "schema", "schemas", "openapi", "definitions", "write_all"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
_PERCENT_PATTERN = r"^\d+(\.\d+)?%$"

#: Every schema by its name: (the definition it is, its title).
NAMES: dict[str, tuple[str, str]] = {
    "applicant": ("Applicant", "An applicant: what the evaluation reads (POST /evaluate, `taian-titles evaluate`)"),
    "recommendation-list": ("RecommendationList",
                            "A unit's recommendation list (POST /quota, `taian-titles quota`)"),
    "decision": ("Decision", "The result of one applicant"),
    "quota-result": ("QuotaResult", "The quota check of one recommendation list"),
    "error-entry": ("ErrorEntry", "The answer for an applicant that could not be evaluated"),
    "quota-error-entry": ("QuotaErrorEntry", "The answer for a recommendation list that could not be checked"),
    "error": ("Error", "The error object of an error entry: bad input (kind input) or a fault (kind internal)"),
    "evaluate-answer": ("EvaluateAnswer", "One answer of an evaluation: a decision or an error entry"),
    "quota-answer": ("QuotaAnswer", "One answer of a quota check: a result or an error entry"),
    "request-error": ("RequestError", "The body of an HTTP 400, 413 or 415 answer: the request as a whole "
                                      "could not be used"),
}

_INPUTS = (Applicant, RecommendationList)


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if set(schema) <= {"type", "format", "pattern", "minLength"} and isinstance(schema.get("type"), str):
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def _enum(codes: list[str], labels: Mapping[str, Mapping[str, str]], description: str) -> dict[str, Any]:
    """A closed set of codes, each with its labels (``x-labels``; ``x-enum-descriptions`` in the
    order of ``enum``, as OpenAPI code generators read them)."""
    codes = list(dict.fromkeys(codes))
    if not codes:
        return {"type": "string", "description": description}
    described = [_describe(code, labels.get(code, {})) for code in codes]
    return {"type": "string", "enum": codes, "description": description + "\n\n" + "\n".join(f"- {d}" for d in described),
            "x-enum-descriptions": described,
            "x-labels": {code: dict(labels[code]) for code in codes if code in labels}}


def _describe(code: str, label: Mapping[str, str]) -> str:
    parts = [code]
    if label.get("clause"):
        parts.append(f"({label['clause']})")
    names = " / ".join(label[lang] for lang in ("zh", "en") if label.get(lang))
    return " ".join(parts) + (f": {names}" if names else "")


class _Builder:
    """Collects the definitions reachable from the classes asked for."""

    def __init__(self, policy: Any) -> None:
        self.policy = policy
        self.defs: dict[str, dict[str, Any]] = {}
        self._policy_enums()

    # ------------------------------------------------------------------ the policy's codes

    def _policy_enums(self) -> None:
        policy = self.policy
        labels: dict[str, dict[str, str]] = {}
        for document in reversed(policy.documents):  # the first document's labels win
            for code, entry in document.outcomes.items():
                labels[code] = {k: str(v) for k, v in entry.items() if k in ("clause", "zh", "en")}
        by_kind: dict[str, list[str]] = {}
        for rule in policy.rules:
            by_kind.setdefault(rule.then.kind, []).append(rule.then.target)
        outcome_codes = [code for d in policy.documents for code, e in d.outcomes.items()]
        self.defs["OutcomeCode"] = _enum(
            by_kind.get("outcome", []) or outcome_codes, labels,
            "An outcome code: the public contract, which never changes meaning (labels from the ruleset).")
        self.defs["NotMetCode"] = _enum(
            by_kind.get("not_met", []), labels, "The outcome code of a clause the applicant comes close to.")
        self.defs["NoteCode"] = _enum(by_kind.get("note", []), labels, "Why something was left out.")
        self.defs["FindingCode"] = _enum(by_kind.get("finding", []), labels,
                                         "A finding about one candidate of a list.")
        quota = by_kind.get("quota", [])
        self.defs["QuotaCode"] = _enum(quota or [QuotaError.__attrs_attrs__.code.default], labels,
                                       "The outcome code of the quota check.")
        clauses = {cid: {"zh": str(policy.clause(cid).get("zh", ""))} for d in policy.documents for cid in d.clauses}
        self.defs["Clause"] = _enum(list(clauses), clauses, "A clause of the policy's documents, with its text.")
        directions = list(policy.directions)
        self.defs["Direction"] = _enum(
            directions, {d: {"zh": policy.labels.get(d, (d, d))[0], "en": policy.labels.get(d, (d, d))[1]}
                         for d in directions},
            "A programme direction of the policy (its `digital_directions` parameter).  The library also "
            "accepts the English names and spellings of the ruleset's `[labels.directions]`.")
        self.defs["ProblemCode"] = _enum(
            [c for c in MESSAGES if c != "internal_error"], {c: {"en": MESSAGES[c][0], "zh": MESSAGES[c][1]}
                                                             for c in MESSAGES},
            "What is wrong with the input (docs/exchange.md, problem codes); act on it, not on a message.")

    # ------------------------------------------------------------------ types

    def type_schema(self, tp: Any) -> dict[str, Any]:
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin in (typing.Union, __import__("types").UnionType):
            others = [a for a in args if a is not type(None)]
            if len(others) == 1:
                inner = self.type_schema(others[0])
                return _nullable(inner) if type(None) in args else inner
            return {"anyOf": [self.type_schema(a) for a in args]}
        if origin is tuple or origin is list:
            (element,) = {a for a in args if a is not Ellipsis} or {Any}
            return {"type": "array", "items": self.type_schema(element)}
        if origin in (dict, Mapping, typing.Mapping) or tp in (dict, Mapping):
            return {"type": "object"}
        if tp is str:
            return {"type": "string"}
        if tp is bool:
            return {"type": "boolean"}
        if tp is int:
            return {"type": "integer"}
        if tp is float:
            return {"type": "number"}
        if tp is _dt.date:
            return {"type": "string", "format": "date", "pattern": _DATE_PATTERN}
        if tp is Fraction:
            return {"type": "string", "pattern": _PERCENT_PATTERN}
        if isinstance(tp, type) and issubclass(tp, Labelled):
            return self.enum_class(tp)
        if isinstance(tp, type) and attrs.has(tp):
            return self.record(tp)
        if tp is Any:
            return {}
        raise TypeError(f"no JSON Schema for {tp!r}")  # a new kind of field: teach _FIELDS or type_schema

    def property_schema(self, cls: type, name: str, string: Mapping[str, Any]) -> dict[str, Any]:
        """A key ``to_dict`` writes from a property: its type from the property's annotation,
        ``string`` added to its string form."""
        returns = typing.get_type_hints(getattr(cls, name).fget)["return"]
        schema = self.type_schema(returns)
        if schema.get("type") == "string" or "string" in (schema.get("type") or ()):
            schema = {**schema, **string}
        return schema

    def enum_class(self, cls: type[Labelled]) -> dict[str, Any]:
        name = cls.__name__
        if name not in self.defs:
            doc = _first_paragraph(cls)
            self.defs[name] = _enum([m.code for m in cls], {m.code: {"zh": m.zh, "en": m.en} for m in cls},
                                    doc or f"One of the codes of {name}.")
        return _ref(name)

    def record(self, cls: type) -> dict[str, Any]:
        name = _DEF_NAMES.get(cls, cls.__name__)
        if name in self.defs:
            return _ref(name)
        self.defs[name] = {}  # reserved: a record may refer to itself
        hints = {f.name: f.type for f in attrs.fields(attrs.resolve_types(cls))}
        is_input = _is_input(cls)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for field in attrs.fields(cls):
            if field.name in _LEFT_OUT.get(cls, ()) or field.name == "policy":
                continue
            special = _FIELDS.get((cls, field.name)) or _FIELDS.get((None, field.name))
            prop = special(self) if special else self.type_schema(hints[field.name])
            if is_input and (cls, field.name) in _NON_EMPTY:
                prop = {**prop, "minLength": 1, "pattern": r"\S"}
            properties[field.name] = prop
            # A record's field with a default may be left out; a result writes every field, except
            # those whose default is None, which it writes only when set (name, meta).
            optional = field.default is not attrs.NOTHING if is_input else field.default is None
            if not optional:
                required.append(field.name)
        for key, (make, needed) in _EXTRA.get(cls, {}).items():
            properties[key] = make(self)
            if needed:
                required.append(key)
        doc = _first_paragraph(cls)
        doc = _DESCRIPTIONS.get(cls, doc)
        body: dict[str, Any] = {"type": "object"}
        if doc:
            body["description"] = doc
        body["properties"] = properties
        body["required"] = required
        if is_input:
            body["additionalProperties"] = False
        body.update(copy.deepcopy(_CONSTRAINTS.get(cls, {})))
        self.defs[name] = body
        return _ref(name)

    # ------------------------------------------------------------------ what is not a model class

    def errors(self) -> None:
        text = {"type": "string"}
        self.defs["Problem"] = {
            "type": "object", "description": "One problem of a record: where, what (code) and why.",
            "properties": {"path": {"type": "string", "description": "`$` for the record itself, else "
                                    "`certificates[1].level`"},
                           "code": _ref("ProblemCode"), "message": text, "message_zh": text,
                           "allowed": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                                       "description": "the codes of the allowed values, where there is a "
                                                      "closed set of them"}},
            "required": ["path", "code", "message", "message_zh"]}
        line = {"type": "integer", "minimum": 1, "description": "the input line (JSON Lines input only)"}
        self.defs["InputError"] = {
            "type": "object", "description": "Bad input: every problem of the record at once.",
            "properties": {"kind": {"const": "input"}, "code": _ref("ProblemCode"),
                           "path": {"type": "string"}, "message": text, "message_zh": text,
                           "problems": {"type": "array", "items": _ref("Problem"), "minItems": 1}, "line": line},
            "required": ["kind", "code", "path", "message", "message_zh", "problems"]}
        self.defs["InternalError"] = {
            "type": "object", "description": "A fault of the program (or of an edited ruleset), not of the "
                                             "input; the batch goes on.",
            "properties": {"kind": {"const": "internal"}, "code": {"const": "internal_error"},
                           "message": text, "message_zh": text, "line": line},
            "required": ["kind", "code", "message", "message_zh"]}
        self.defs["Error"] = {"description": "kind `input` (bad input, with its problems) or `internal`.",
                              "oneOf": [_ref("InputError"), _ref("InternalError")]}
        self.defs["RequestError"] = {
            "type": "object", "description": NAMES["request-error"][1],
            "properties": {"error": _ref("InputError"), "exchange_version": _version()},
            "required": ["error", "exchange_version"]}

    def build(self) -> dict[str, dict[str, Any]]:
        self.errors()
        for cls in (Applicant, RecommendationList, Decision, QuotaResult, BatchError, QuotaError):
            self.record(cls)
        self.defs["EvaluateAnswer"] = {"description": NAMES["evaluate-answer"][1],
                                       "oneOf": [_ref("Decision"), _ref("ErrorEntry")]}
        self.defs["QuotaAnswer"] = {"description": NAMES["quota-answer"][1],
                                    "oneOf": [_ref("QuotaResult"), _ref("QuotaErrorEntry")]}
        return self.defs


def _first_paragraph(cls: type) -> str:
    """A class's docstring, first paragraph, as one line (reST ``code`` as Markdown `code`)."""
    paragraph = (cls.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(paragraph.split()).replace("``", "`")


def _is_input(cls: type) -> bool:
    import taian_titles.model as model
    return cls.__module__ == model.__name__


def _version() -> dict[str, Any]:
    return {"const": EXCHANGE_VERSION, "description": "the version of the exchange format"}


_DESCRIPTIONS: dict[type, str] = {
    Applicant: "An applicant: the items the policy reads (docs/exchange.md).",
    RecommendationList: "One unit's recommendation list, checked against the policy's quota.",
    Decision: "The result of one applicant.",
    QuotaResult: "The quota check of one recommendation list.",
    BatchError: "The answer for an applicant that could not be evaluated; the batch goes on.",
    QuotaError: "The answer for a recommendation list that could not be checked; the others go on.",
}
_DEF_NAMES: dict[type, str] = {BatchError: "ErrorEntry", QuotaError: "QuotaErrorEntry"}
_LEFT_OUT: dict[type, tuple[str, ...]] = {BatchError: ("index",), QuotaError: ("index",)}

_RulesetRef = {"type": "object", "description": "A ruleset document: id, version and the SHA-256 of its file",
               "properties": {"id": {"type": "string"}, "version": {"type": "string"},
                              "digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}},
               "required": ["id", "version", "digest"]}


def _ruleset_ref(builder: _Builder) -> dict[str, Any]:
    builder.defs.setdefault("RulesetRef", copy.deepcopy(_RulesetRef))
    return _ref("RulesetRef")


def _meta(builder: _Builder) -> dict[str, Any]:
    builder.defs.setdefault("Meta", {"type": "object", "description": (
        "The caller's own fields (an employee number, a county): any JSON object, returned unchanged "
        "in the record's answer, error entries included.")})
    return _ref("Meta")


def _code(name: str) -> Callable[[_Builder], dict[str, Any]]:
    return lambda builder: _ref(name)


Special = Callable[[_Builder], dict[str, Any]]

#: Fields whose JSON the Python type does not say, by (class, field); (None, field) for any class.
_FIELDS: dict[tuple[type | None, str], Special] = {
    (None, "meta"): _meta,
    (None, "ruleset"): _ruleset_ref,
    (None, "rulesets"): lambda b: {"type": "array", "items": _ruleset_ref(b)},
    (Outcome, "code"): _code("OutcomeCode"),
    (NotMet, "code"): _code("NotMetCode"),
    (Note, "code"): _code("NoteCode"),
    (QuotaFinding, "code"): _code("FindingCode"),
    (QuotaResult, "code"): _code("QuotaCode"),
    (QuotaError, "code"): _code("QuotaCode"),
    (Outcome, "clause"): _code("Clause"),
    (NotMet, "clause"): _code("Clause"),
    (QuotaResult, "clause"): _code("Clause"),
    (QuotaError, "clause"): _code("Clause"),
    (Certificate, "direction"): _code("Direction"),
    (BatchError, "error"): _code("Error"),
    (QuotaError, "error"): _code("Error"),
    (QuotaFinding, "positions"): lambda b: {"type": "array", "items": {"type": "integer", "minimum": 1}},
    (QuotaResult, "quota"): lambda b: {"type": "string", "pattern": _PERCENT_PATTERN,
                                       "description": "the policy's share, as the ruleset's parameter gives it"},
    (RecommendationList, "candidates"): lambda b: {"type": "array", "items": b.record(Candidate), "minItems": 1},
}

#: What a record's own validators check across its fields, where JSON Schema can say it.
_CONSTRAINTS: dict[type, dict[str, Any]] = {
    Certificate: {"if": {"properties": {"kind": {"const": "training"}}, "required": ["kind"]},
                  "then": {"properties": {"level": {"enum": ["junior", "intermediate"]}}},
                  "$comment": "a training certificate (培训合格证书) has no senior level"},
}

#: Keys a result's ``to_dict`` writes that are not fields: key -> (schema, always present).
_EXTRA: dict[type, dict[str, tuple[Special, bool]]] = {
    Applicant: {"exchange_version": (lambda b: {"enum": list(EXCHANGE_VERSIONS),
                                                "description": "the version of the exchange format the "
                                                               "record is written in (optional)"}, False)},
    RecommendationList: {"exchange_version": (lambda b: {"enum": list(EXCHANGE_VERSIONS)}, False)},
    Decision: {"exchange_version": (lambda b: _version(), True)},
    QuotaResult: {"share": (lambda b: b.property_schema(QuotaResult, "share_text", {
                      "pattern": r"^\d+\.\d{2}%$", "description": "digital / total, two decimals rounded half-up"}),
                            True),
                  "exchange_version": (lambda b: _version(), True)},
    BatchError: {"exchange_version": (lambda b: _version(), True)},
    QuotaError: {"exchange_version": (lambda b: _version(), True)},
}


# --------------------------------------------------------------------------- public functions

def definitions(policy: Any = None, *, strict: bool = False) -> dict[str, dict[str, Any]]:
    """Every definition of the exchange format, by name, with references ``#/$defs/<name>``.

    ``policy`` (default: the shipped one) gives the codes and labels.  ``strict`` closes results
    (``additionalProperties: false``), for tests.
    """
    from .policy import default_policy
    defs = _Builder(policy or default_policy()).build()
    if strict:
        for body in defs.values():
            if body.get("type") == "object" and "properties" in body and body is not defs.get("Meta"):
                body["additionalProperties"] = False
    return defs


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[1]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*map(_refs, node)) if node else set()
    return set()


def _reachable(root: str, defs: Mapping[str, Any]) -> dict[str, Any]:
    seen: list[str] = []
    todo = [root]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.append(name)
        todo.extend(sorted(_refs(defs[name]) - set(seen)))
    return {name: defs[name] for name in sorted(seen)}


def schema(name: str, policy: Any = None, *, strict: bool = False,
           defs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The schema ``name`` (one of :data:`NAMES`), standalone: its definitions under ``$defs``."""
    if name not in NAMES:
        raise KeyError(f"no schema {name!r}; the schemas are {', '.join(NAMES)}")
    root, title = NAMES[name]
    defs = defs if defs is not None else definitions(policy, strict=strict)
    return {"$schema": DIALECT, "$id": f"urn:taian-titles:exchange:{EXCHANGE_VERSION}:{name}",
            "title": title, "x-exchange-version": EXCHANGE_VERSION,
            "$ref": f"#/$defs/{root}", "$defs": copy.deepcopy(_reachable(root, defs))}


def schemas(policy: Any = None, *, strict: bool = False) -> dict[str, dict[str, Any]]:
    """Every schema of :data:`NAMES`, by name."""
    defs = definitions(policy, strict=strict)
    return {name: schema(name, defs=defs) for name in NAMES}


def _components(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (v.replace("#/$defs/", "#/components/schemas/") if k == "$ref" and isinstance(v, str)
                    else _components(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_components(v) for v in node]
    return node


def openapi(policy: Any = None) -> dict[str, Any]:
    """The HTTP service's OpenAPI 3.1 document, its components the same definitions as the schemas."""
    from . import __version__
    from .policy import default_policy
    policy = policy or default_policy()
    defs = _components(definitions(policy))
    defs["Error"]["discriminator"] = {"propertyName": "kind", "mapping": {
        "input": "#/components/schemas/InputError", "internal": "#/components/schemas/InternalError"}}

    def ref(name: str) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{name}"}

    params = [
        {"name": "as_of", "in": "query", "required": False, "schema": {"type": "string", "format": "date"},
         "description": "the evaluation date for every record, overriding each record's own; without "
                        "either, today in Asia/Shanghai"},
        {"name": "lenient", "in": "query", "required": False, "schema": {"type": "boolean", "default": False},
         "description": "keep unknown top-level fields of a record in its `meta` instead of refusing it"},
    ]
    request_errors = {
        "400": {"description": "the body is not usable JSON (empty, not JSON, several JSON values under "
                               "application/json) or a query parameter is bad",
                "content": {"application/json": {"schema": ref("RequestError")}}},
        "413": {"description": "the body is larger than the service's limit",
                "content": {"application/json": {"schema": ref("RequestError")}}},
        "415": {"description": "a Content-Type other than application/json or application/x-ndjson",
                "content": {"application/json": {"schema": ref("RequestError")}}},
    }

    def batch(record: str, answer: str, result: str, entry: str, what: str) -> dict[str, Any]:
        return {
            "summary": what, "parameters": params,
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": {"oneOf": [ref(record), {"type": "array", "items": ref(record)}]}},
                "application/x-ndjson": {"schema": ref(record), "description": (
                    "JSON Lines: one record per line; the answer is streamed back one line per record")}}},
            "responses": {
                "200": {"description": "every record answered (a batch may hold error entries)", "content": {
                    "application/json": {"schema": {"oneOf": [ref(result), {"type": "array", "items": ref(answer)}]}},
                    "application/x-ndjson": {"schema": ref(answer)}}},
                "422": {"description": "one record (not an array) with bad input: its error entry",
                        "content": {"application/json": {"schema": ref(entry)}}},
                "500": {"description": "one record (not an array) that met a fault: its error entry, kind "
                                       "internal", "content": {"application/json": {"schema": ref(entry)}}},
                **request_errors}}

    status = {"type": "object", "properties": {"status": {"type": "string"}}, "required": ["status"]}
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": DIALECT,
        "info": {"title": "taian-titles", "version": __version__,
                 "description": "The `taian-titles` command's "
                                "evaluate and quota.  No authentication of its own: run it behind the "
                                "bureau's gateway (records carry personal data).",
                 "x-exchange-version": EXCHANGE_VERSION},
        "paths": {
            "/evaluate": {"post": batch("Applicant", "EvaluateAnswer", "Decision", "ErrorEntry",
                                        "Evaluate one applicant, an array of them, or JSON Lines")},
            "/quota": {"post": batch("RecommendationList", "QuotaAnswer", "QuotaResult", "QuotaErrorEntry",
                                     "Check one recommendation list, an array of them, or JSON Lines")},
            "/rulesets": {"get": {"summary": "The policy's ruleset documents, as `taian-titles ruleset show "
                                             "--format json` gives each",
                                  "responses": {"200": {"description": "the documents, in order", "content": {
                                      "application/json": {"schema": {"type": "object"}}}}}}},
            "/schemas/{name}": {"get": {"summary": "One JSON Schema of the exchange format",
                                        "parameters": [{"name": "name", "in": "path", "required": True,
                                                        "schema": {"enum": [f"{n}.json" for n in NAMES]}}],
                                        "responses": {"200": {"description": "the schema", "content": {
                                            "application/schema+json": {"schema": {"type": "object"}}}},
                                            "404": {"description": "no such schema"}}}},
            "/healthz": {"get": {"summary": "Liveness: the process answers", "responses": {
                "200": {"description": "alive", "content": {"application/json": {"schema": status}}}}}},
            "/readyz": {"get": {"summary": "Readiness: the policy is loaded and has evaluated a sample",
                                "responses": {
                                    "200": {"description": "ready", "content": {"application/json": {"schema": status}}},
                                    "503": {"description": "not ready (starting or stopping)"}}}},
        },
        "components": {"schemas": defs},
    }


def dumps(document: Mapping[str, Any]) -> str:
    """A schema as the files of ``schemas/`` hold it."""
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def write_all(folder: Path | str, policy: Any = None) -> list[Path]:
    """Write every schema (``<name>.schema.json``) and ``openapi.json`` into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in schemas(policy).items():
        path = folder / f"{name}.schema.json"
        path.write_text(dumps(document), encoding="utf-8")
        written.append(path)
    path = folder / "openapi.json"
    path.write_text(dumps(openapi(policy)), encoding="utf-8")
    written.append(path)
    return written


if __name__ == "__main__":  # `python -m taian_titles.schema FOLDER` (make schemas)
    import sys
    for written_path in write_all(sys.argv[1] if len(sys.argv) > 1 else "schemas"):
        print(written_path)
