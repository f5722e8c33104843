"""Untrusted text made harmless for a terminal and a reader: the one place that does it.

A record's strings (its id, a unit, a certificate number, a name) and the messages that quote
them end up in text letters printed on a terminal, in Markdown opened in an editor or a viewer,
and in lines on standard error.  There a control character is not text: ``ESC [2J`` clears the
screen, ``ESC ] 0;…BEL`` retitles the window, a bidi override (U+202E) shows ``cod.exe`` as
``exe.doc``, and a line break in an id starts a new line of a letter or a Markdown heading.

:func:`neutralise` replaces each such character by its code written visibly, ``\\u001b``, so a
reader sees that something was there and what, and no field can leave its line.  It is applied
to every value a text or Markdown rendering shows (:mod:`taian_titles.render` passes the
letter's data through :func:`neutralise_tree`; :func:`taian_titles.render.md_escape`
neutralises before it escapes Markdown), to the tables of the quota report and the batch
summary, and to the lines the command writes on standard error.  HTML escapes instead (a browser
does not interpret control characters) and JSON is data: both are left as they are.

Replaced: the C0 controls U+0000–U+001F (tab, line feed and carriage return included), DEL and
the C1 controls U+007F–U+009F (NEL among them), the line and paragraph separators U+2028 and
U+2029, the bidi marks, embeddings, overrides and isolates (U+061C, U+200E, U+200F,
U+202A–U+202E, U+2066–U+2069), and lone surrogates U+D800–U+DFFF (which no UTF-8 text can hold).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["UNSAFE", "neutralise", "neutralise_tree", "is_safe"]

#: The characters :func:`neutralise` replaces.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
                                 "\ud800-\udfff]")


def _visible(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def neutralise(text: str, keep_newlines: bool = False) -> str:
    """``text`` with every control, bidi and line-breaking character (see the module) written as
    ``\\uXXXX``.  ``keep_newlines`` keeps line feeds, for a message the program composed of
    several lines (its fields are one line each only if they were neutralised first)."""
    pattern = _UNSAFE_BUT_NEWLINE if keep_newlines else UNSAFE
    if pattern.search(text) is None:
        return text
    return pattern.sub(_visible, text)


def is_safe(text: str) -> bool:
    """Whether ``text`` has none of the characters :func:`neutralise` replaces."""
    return UNSAFE.search(text) is None


def neutralise_tree(value: Any) -> Any:
    """``value`` with every string in it neutralised: lists, tuples and dicts (their values)
    are copied, anything else is returned as it is."""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, dict):
        return {key: neutralise_tree(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(neutralise_tree(item) for item in value) if type(value) in (list, tuple) \
            else [neutralise_tree(item) for item in value]
    return value
