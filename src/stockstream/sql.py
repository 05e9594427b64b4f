"""Which SQL statements only read: `stockstream sql` runs those without --write."""

from __future__ import annotations

import re

_READ_ONLY = frozenset({"select", "with", "show", "describe", "desc", "explain", "values", "table", "from"})
# What can follow WITH ... or FROM ... and write (e.g. WITH x AS (...) INSERT INTO t SELECT ...).
_WRITES = re.compile(r"\b(insert|merge|update|delete|overwrite)\b", re.IGNORECASE)
# Literals, quoted names and comments in one pass, so that whichever starts first wins: a -- inside
# a literal is text, a quote inside a comment is a comment. A raw literal (r'...', R"...") ends at
# its first quote, a backslash in it escapes nothing: read as an ordinary literal, r'\' would
# hide the statement after it (WITH x AS (SELECT r'\') INSERT INTO t ... --').
_TOKENS = re.compile(
    r"(?P<text>(?<!\w)[rR]'[^']*'|(?<!\w)[rR]\"[^\"]*\""
    r"|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`)"
    r"|(?P<comment>--[^\n]*|/\*.*?\*/)",
    re.DOTALL,
)


def _blank(query: str) -> str:
    """The statement with every literal and quoted name as '' and every comment as a space."""
    return _TOKENS.sub(lambda m: "''" if m.group("text") is not None else " ", query)


def read_only(query: str) -> bool:
    """True for one statement that can only read: SELECT, WITH, SHOW, DESCRIBE, EXPLAIN, VALUES,
    TABLE, FROM; a write keyword outside string literals and quoted names makes it a write."""
    text = _blank(query).strip().rstrip(";").strip()
    words = text.lstrip("(").split(None, 1)
    if not words or words[0].lower() not in _READ_ONLY or ";" in text:
        return False
    if words[0].lower() in {"show", "describe", "desc", "explain"}:
        return True
    return _WRITES.search(text) is None
