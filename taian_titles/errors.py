"""The errors the library raises on bad input and on a bad ruleset file.

Every problem of bad input has a stable ``code`` (for programs), an English and a Chinese
message, both made from one table, :data:`MESSAGES`, and, where a closed set of values is
allowed, ``allowed``: the codes of those values.  An internal fault of the library (or of an
edited ruleset) while one record is evaluated is an :class:`InternalError`, never a problem of
the input.
"""

from __future__ import annotations

from typing import Any, Iterable, NamedTuple

__all__ = ["MESSAGES", "Problem", "InputError", "InternalError", "RecordError", "BadValue", "BadType",
           "Words", "problem", "json_type", "RulesetError"]


#: Every problem code → (English template, Chinese template).  The templates' fields are filled
#: by :func:`problem`; ``{allowed}`` is the list of allowed values (in Chinese with their Chinese
#: names beside the codes).  A code never changes meaning once released.
MESSAGES: dict[str, tuple[str, str]] = {
    "missing_field": ("required field missing", "缺少必填字段"),
    "unknown_field": ("unknown field {fields}; allowed fields: {allowed}",
                      "无法识别的字段：{fields}；可用的字段：{allowed}"),
    "wrong_type": ("expected {expected}, got {got}", "应为{expected}，实际为{got}"),
    "empty_string": ("must be a non-empty string", "不能为空"),
    "unknown_value": ("{value} is not one of {allowed}", "{value} 不是可选值之一；可选值：{allowed}"),
    "not_a_date": ("{value} is not a date in the form YYYY-MM-DD",
                   "{value} 不是日期：日期格式应为 YYYY-MM-DD"),
    "impossible_date": ("{value} is not a valid date: {reason}", "{value} 不是日历上存在的日期"),
    "end_before_start": ("{end} is before start {start}", "结束日期 {end} 早于开始日期 {start}"),
    "duplicate_number": ("duplicate certificate number {number} (also {other})",
                         "证书编号 {number} 重复（与 {other} 相同）"),
    "senior_training_certificate": (
        "{value} is not one of {allowed} (a training certificate 培训合格证书 has no senior level)",
        "培训合格证书没有高级（senior）；可选等级：{allowed}"),
    "empty_list": ("a recommendation list must name at least one candidate", "推荐名单中至少应有一名候选人"),
    "not_an_object": ("expected an object, got {got}", "每条记录应为一个 JSON 对象，实际为{got}"),
    "not_json": ("line {line} is not valid JSON: {reason} (column {column})",
                 "第 {line} 行不是有效的 JSON（第 {column} 列有误）"),
    "not_utf8": ("line {line} is not UTF-8 text (byte {byte})",
                 "第 {line} 行不是 UTF-8 编码的文本（第 {byte} 个字节有误）"),
    # Spreadsheet rosters (roster.py): a row of an extra sheet whose applicant is not on the
    # applicants' sheet; a value given twice for one record that must have one.
    "orphan_row": ("no applicant {value} on sheet {sheet}; this {what} row is not used",
                   "申请人表（{sheet}）中没有编号为 {value} 的申请人，本行{what}未使用"),
    "conflicting_value": ("{value} differs from {other} given above for {record}; one {record} has one {what}",
                          "{value} 与上文为{record}填写的 {other} 不一致；同一{record}只能有一个{what}"),
    # Of an HTTP request as a whole (taian-titles serve): answered with status 400, 413 or 415.
    "unusable_input": ("the input cannot be used: {reason}", "输入无法使用：{reason}"),
    "request_too_large": ("the request body is larger than the limit of {limit} bytes",
                          "请求内容超过 {limit} 字节的上限"),
    "unsupported_media_type": ("Content-Type {got} is not accepted", "不接受 Content-Type {got}"),
    "duplicate_key": ("the key {key} appears {count} times in one object; a key may appear once",
                      "同一对象中键 {key} 出现了 {count} 次；每个键只能出现一次"),
    "too_large": ("the record has {size} bytes; a record may have at most {limit}",
                  "本条记录有 {size} 字节，超过单条记录 {limit} 字节的上限"),
    "too_deep": ("arrays and objects are nested more than {limit} levels deep",
                 "数组和对象的嵌套超过 {limit} 层"),
    "too_long": ("{length} characters; at most {limit} are accepted", "长度为 {length} 个字符，超过 {limit} 个字符的上限"),
    "lone_surrogate": ("character {position} is {char}, half of a UTF-16 pair (a lone surrogate), which "
                       "is not a character", "第 {position} 个字符为 {char}（孤立的代理码位），不是有效的字符"),
    "too_many_items": ("{count} items; at most {limit} are accepted", "共 {count} 项，超过 {limit} 项的上限"),
    "date_out_of_range": ("{value} is outside the dates accepted, {first} to {last}",
                          "{value} 超出可接受的日期范围（{first} 至 {last}）"),
    "internal_error": ("internal error while {doing} ({detail}); please report it",
                       "{doing}时发生程序内部错误（{detail}），不是材料的问题；请向系统维护方报告"),
}

#: Appended to a message whose template does not name ``{allowed}`` when there are allowed values.
_ALLOWED_SUFFIX = ("; allowed: {allowed}", "；可选值：{allowed}")


class Words(NamedTuple):
    """A value of a message template that has an English and a Chinese wording."""

    en: str
    zh: str


_JSON_TYPES: dict[type, Words] = {
    dict: Words("an object", "对象"), list: Words("an array", "数组"), str: Words("a string", "字符串"),
    bool: Words("a boolean", "布尔值"), int: Words("a number", "数字"), float: Words("a number", "数字"),
    type(None): Words("null", "null（空值）"),
}


def json_type(value: Any) -> Words:
    """The JSON type of a value, as a message names it (``a string`` / 字符串)."""
    words = _JSON_TYPES.get(type(value))
    if words is None:
        name = type(value).__name__
        return Words(name, name)
    return words


def _allowed_text(allowed: tuple[tuple[str, str | None], ...], lang: int) -> str:
    if lang == 0:
        return ", ".join(code for code, _ in allowed)
    return "、".join(code if not zh or zh == code else f"{code}（{zh}）" for code, zh in allowed)


def _messages(code: str, allowed: tuple[tuple[str, str | None], ...], params: dict[str, Any]) -> tuple[str, str]:
    templates = MESSAGES[code]
    out = []
    for lang, template in enumerate(templates):
        values = {k: (v[lang] if isinstance(v, Words) else v) for k, v in params.items()}
        if allowed:
            values["allowed"] = _allowed_text(allowed, lang)
            if "{allowed}" not in template:
                template += _ALLOWED_SUFFIX[lang]
        out.append(template.format(**values))
    return out[0], out[1]


def _choices(allowed: Iterable[str | tuple[str, str | None]]) -> tuple[tuple[str, str | None], ...]:
    return tuple((item, None) if isinstance(item, str) else (item[0], item[1]) for item in allowed)


class Problem(NamedTuple):
    """One problem of a record: where (``certificates[1].level``), what (``code``) and why.

    ``message`` is English, ``message_zh`` Chinese; ``allowed`` the codes of the allowed values,
    when there is a closed set of them.  Build problems with :func:`problem`.
    """

    path: str
    message: str
    code: str = ""
    message_zh: str = ""
    allowed: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path, "code": self.code, "message": self.message,
                                "message_zh": self.message_zh or self.message}
        if self.allowed:
            data["allowed"] = list(self.allowed)
        return data


def problem(path: str, code: str, *, allowed: Iterable[str | tuple[str, str | None]] = (),
            **params: Any) -> Problem:
    """The problem ``code`` at ``path``, its messages made from :data:`MESSAGES`.

    ``allowed`` are the allowed values: codes, or ``(code, Chinese name)`` pairs; a parameter
    given as :class:`Words` takes its English or Chinese wording.
    """
    choices = _choices(allowed)
    en, zh = _messages(code, choices, params)
    return Problem(path, en, code, zh, tuple(c for c, _ in choices))


class BadValue(ValueError):
    """A value that cannot be used, raised while a record is read: the problem without its path."""

    def __init__(self, code: str, *, allowed: Iterable[str | tuple[str, str | None]] = (),
                 **params: Any) -> None:
        self.code = code
        self.choices = _choices(allowed)
        self.params = params
        self.message, self.message_zh = _messages(code, self.choices, params)
        super().__init__(self.message)

    def problem(self, path: str) -> Problem:
        """This problem at ``path``."""
        return Problem(path, self.message, self.code, self.message_zh, tuple(c for c, _ in self.choices))


class BadType(BadValue, TypeError):
    """A value of the wrong JSON type (code ``wrong_type``)."""

    def __init__(self, expected: Words, value: Any, *,
                 allowed: Iterable[str | tuple[str, str | None]] = ()) -> None:
        super().__init__("wrong_type", allowed=allowed, expected=expected, got=json_type(value))


class RecordError(Exception):
    """A record that could not be evaluated: bad input (:class:`InputError`) or an internal fault
    (:class:`InternalError`).  Both have ``kind``, ``code``, ``message_zh`` (``str()`` is the
    English message), ``record_id`` and ``to_dict()``, the exchange format's ``error`` object."""

    kind: str = ""
    record_id: str | None = None

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - both subclasses define it
        raise NotImplementedError


class InputError(RecordError, ValueError):
    """Bad input.  ``problems`` lists every problem of the record at once."""

    kind = "input"

    def __init__(self, problems: Iterable[Problem], record_id: str | None = None) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.record_id = record_id
        super().__init__("; ".join(str(p) for p in self.problems))

    @property
    def path(self) -> str:
        """Path of the first problem (the exchange format's ``error.path``)."""
        return self.problems[0].path if self.problems else "$"

    @property
    def code(self) -> str:
        """Code of the first problem."""
        return self.problems[0].code if self.problems else ""

    @property
    def message_zh(self) -> str:
        """Every problem in Chinese, with its path (``str()`` of the error is the English)."""
        return "；".join(f"{p.path}：{p.message_zh or p.message}" for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        """The exchange format's ``error`` object, with every problem listed."""
        return {
            "kind": self.kind,
            "code": self.code,
            "path": self.path,
            "message": str(self),
            "message_zh": self.message_zh,
            "problems": [p.to_dict() for p in self.problems],
        }


class InternalError(RecordError):
    """A fault of the library (or of an edited ruleset) while one record was evaluated or one
    list checked; not a problem of the input.  The batch goes on."""

    kind = "internal"
    code = "internal_error"

    def __init__(self, cause: BaseException, *, doing: Words = Words("evaluating this record", "评估本条记录"),
                 record_id: str | None = None) -> None:
        self.cause = cause
        self.record_id = record_id
        text = " ".join(str(cause).split())
        detail = f"{type(cause).__name__}: {text}" if text else type(cause).__name__
        self.message, self.message_zh = _messages("internal_error", (), {"doing": doing, "detail": detail})
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "internal", "code": "internal_error", "message", "message_zh"}``."""
        return {"kind": self.kind, "code": self.code, "message": self.message, "message_zh": self.message_zh}


class RulesetError(ValueError):
    """A ruleset file that cannot be used; every message names the file and the entry."""

    def __init__(self, source: str, problems: Iterable[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{source}: {p}" for p in self.problems))
