"""The (column, type) list of a lakehouse table as its DDL file declares it, in Spark's spelling."""

from __future__ import annotations

import re

from stockstream.tables import table

_COLUMN = re.compile(r"^\s+(\w+)\s+(.+?)\s+(?:NOT NULL\s+)?COMMENT\s+'", re.MULTILINE)


def ddl_columns(name: str) -> list[tuple[str, str]]:
    """[(column, spark simple type)] of a table, e.g. ("volume", "bigint"), in DDL order."""
    body = table(name).ddl.split("(", 1)[1].split("\n)", 1)[0]
    return [(column, kind.lower().replace(" ", "")) for column, kind in _COLUMN.findall(body)]
