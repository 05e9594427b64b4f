"""Malformed input: thousands of bad Kafka records (broken JSON, wrong types, huge values, NaN,
non-positive prices and volumes, unknown tickers and actions, wrong schema versions, oversized
payloads, non-UTF-8 bytes, missing, empty and null fields, content after the object, timestamps
out of range, nesting deeper than the parsers allow, several faults at once) mixed with valid
ones, published to a running stream. Every bad record must land in silver.quarantine once with
the reason silver's rules give it, every valid one in silver once, and the stream must never stop.

The generator is a seeded fuzzer with explicit mutation families (not hypothesis: `make chaos`
needs a reproducible stream of tens of thousands of records, and each family states its own
expected reason). A bad record is a valid record with one mutation, whose reason is that of the
rule it breaks; the `compound` family breaks several fields at once and expects the reason of the
earliest rule in `silver.rules()` order (RULE_ORDER mirrors it; the unit tests check the mirror
against silver.validate).
"""

from __future__ import annotations

import json
import logging
import random
import re
import string
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from stockstream import lake
from stockstream.chaos.figures import Figure
from stockstream.chaos.lab import Lab, stream_job_pid
from stockstream.config import Settings
from stockstream.market.transactions import Transaction, iso_utc
from stockstream.pipeline.silver import MAX_PAYLOAD_BYTES, MAX_PRICE, MAX_VOLUME, MIN_PRICE, Reason
from stockstream.tables import DIM_STOCK, SILVER_QUARANTINE, SILVER_TRANSACTIONS

log = logging.getLogger(__name__)

TITLE = "malformed records mixed with valid ones"

# The rules of silver.rules(), in the order they are judged, each named by what it checks.
RULE_ORDER: tuple[tuple[str, Reason], ...] = (
    ("oversized", Reason.OVERSIZED_PAYLOAD),
    ("empty", Reason.UNPARSEABLE_JSON),
    ("not_utf8", Reason.UNPARSEABLE_JSON),
    ("not_an_object", Reason.UNPARSEABLE_JSON),
    ("content_after", Reason.UNPARSEABLE_JSON),
    ("schema_version:missing", Reason.MISSING_FIELD),
    ("schema_version:type", Reason.WRONG_TYPE),
    ("schema_version:unknown", Reason.UNKNOWN_SCHEMA_VERSION),
    ("txn_id:missing", Reason.MISSING_FIELD),
    ("txn_id:blank", Reason.MISSING_FIELD),
    ("ticker:missing", Reason.MISSING_FIELD),
    ("timestamp:missing", Reason.MISSING_FIELD),
    ("price:missing", Reason.MISSING_FIELD),
    ("volume:missing", Reason.MISSING_FIELD),
    ("action:missing", Reason.MISSING_FIELD),
    ("price:type", Reason.WRONG_TYPE),
    ("price:range", Reason.WRONG_TYPE),
    ("price:tiny", Reason.WRONG_TYPE),
    ("volume:type", Reason.WRONG_TYPE),
    ("volume:range", Reason.WRONG_TYPE),
    ("timestamp:type", Reason.WRONG_TYPE),
    ("price:non_positive", Reason.NON_POSITIVE_PRICE),
    ("volume:non_positive", Reason.NON_POSITIVE_VOLUME),
    ("action:unknown", Reason.UNKNOWN_ACTION),
    ("ticker:unknown", Reason.UNKNOWN_TICKER),
    ("timestamp:range", Reason.TIMESTAMP_OUT_OF_RANGE),
)
RULE_INDEX = {name: i for i, (name, _) in enumerate(RULE_ORDER)}
RULE_REASON = dict(RULE_ORDER)

# Spark's JSON parser (Jackson) refuses documents nested deeper than this; Python's decoder gives
# up (RecursionError) a little earlier, which silver must survive.
SPARK_MAX_NESTING = 1000
DROP = None  # a field fault's "leave the field out"

CATEGORIES = (
    "broken_json",
    "content_after_object",
    "non_utf8",
    "empty_or_null",
    "missing_field",
    "wrong_type",
    "nan_or_infinity",
    "huge_value",
    "non_positive_price",
    "non_positive_volume",
    "unknown_ticker",
    "unknown_action",
    "wrong_schema_version",
    "schema_version_type",
    "timestamp_out_of_range",
    "oversized_payload",
    "deep_nesting",
    "compound",
)
VALID_FORMS = (
    "pretty_printed",
    "keys_shuffled",
    "extra_fields",
    "exactly_max_size",
    "numbers_as_strings",
    "timestamp_with_offset",
    "currency_absent_or_unicode",
    "surrounding_whitespace",
    "nested_deep_but_allowed",
    "null_key",
)


@dataclass(frozen=True)
class Record:
    """One Kafka record of the scenario and what silver must make of it: quarantine it with
    `reason`, or (reason None) keep it as `txn_id`. `family` is 'category/variant'."""

    key: bytes | None
    value: bytes | None
    reason: Reason | None
    family: str
    txn_id: str | None = None

    @property
    def category(self) -> str:
        return self.family.split("/", 1)[0]


@dataclass(frozen=True)
class Context:
    """What the oracle needs besides the record: the tickers of reference.dim_stock and the
    clock the timestamps are judged against."""

    known_tickers: frozenset[str]
    now: datetime


# --- rendering ------------------------------------------------------------------------------------

Pairs = list[tuple[str, str | None]]  # (field, JSON text of its value, or None: left out)


def pairs_of(txn: Transaction, txn_id: str) -> Pairs:
    """A transaction's contract fields as (name, JSON text) in the producer's order."""
    body = {**txn.to_record(), "txn_id": txn_id}
    return [(name, json.dumps(value)) for name, value in body.items()]


def items(pairs: Pairs) -> list[str]:
    """The pairs as '"name":text' items, fields whose text is None left out."""
    return [f"{json.dumps(name)}:{text}" for name, text in pairs if text is not None]


def render(pairs: Pairs) -> bytes:
    """Compact JSON of the pairs (UTF-8), fields whose text is None left out."""
    return ("{" + ",".join(items(pairs)) + "}").encode()


def replace(pairs: Pairs, name: str, text: str | None) -> Pairs:
    return [(n, text if n == name else t) for n, t in pairs]


def _letters(rng: random.Random, n: int, alphabet: str = string.ascii_uppercase) -> str:
    """n random characters of an ASCII alphabet (fast enough for hundreds of kilobytes)."""
    table = bytes(ord(alphabet[i % len(alphabet)]) for i in range(256))
    return rng.randbytes(n).translate(table).decode("ascii")


def _nested(rng: random.Random, depth: int) -> str:
    """A JSON value `depth` levels deep: arrays, or objects (at most 2,000 levels, so a record
    holding it stays within MAX_PAYLOAD_BYTES)."""
    if rng.random() < 0.5:
        return "[" * depth + "]" * depth
    depth = min(depth, 2000)
    return '{"a":' * depth + "1" + "}" * depth


# --- field faults: one broken field, named by the rule it breaks --------------------------------------


@dataclass(frozen=True)
class Fault:
    """One way to break one field: `rule` (a RULE_ORDER name) says which rule it breaks, so the
    reason; `make` gives the field's new JSON text (DROP: left out)."""

    category: str
    rule: str
    variant: str
    make: Callable[[random.Random, Pairs, Context], str | None]

    @property
    def field(self) -> str:
        return self.rule.split(":", 1)[0]


def _text(value: Any) -> Callable[[random.Random, Pairs, Context], str]:
    return lambda rng, pairs, ctx: value if isinstance(value, str) else json.dumps(value)


def _choice(*texts: str) -> Callable[[random.Random, Pairs, Context], str]:
    return lambda rng, pairs, ctx: rng.choice(texts)


def _value(pairs: Pairs, name: str) -> Any:
    text = dict(pairs)[name]
    return json.loads(text) if text is not None else None


def _unknown_ticker(rng: random.Random, pairs: Pairs, ctx: Context) -> str:
    ticker = str(_value(pairs, "ticker"))
    wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in ticker)
    candidates = [
        ticker.lower(),
        f" {ticker}",
        f"{ticker} ",
        f"{ticker}.XX",
        wide,
        "ZZ" + _letters(rng, rng.randint(1, 5)),
        _letters(rng, rng.randint(1, 4)) + "." + _letters(rng, 2),
    ]
    unknown = [c for c in candidates if c not in ctx.known_tickers]
    return json.dumps(rng.choice(unknown))


def _future(rng: random.Random, pairs: Pairs, ctx: Context) -> str:
    return json.dumps(iso_utc(ctx.now + timedelta(days=rng.uniform(3, 3650))))


def _before_2000(rng: random.Random, pairs: Pairs, ctx: Context) -> str:
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.uniform(0, 946_684_799))
    return json.dumps(iso_utc(moment))


def _shifted_out(rng: random.Random, pairs: Pairs, ctx: Context) -> str:
    """The record's own time of day, moved to a year before 2000 or after the clock."""
    own = datetime.fromisoformat(str(_value(pairs, "timestamp")).replace("Z", "+00:00"))
    year = rng.choice([rng.randint(1900, 1999), rng.randint(ctx.now.year + 1, 2999)])
    return json.dumps(iso_utc(own.replace(year=year, day=min(own.day, 28))))


FAULTS: tuple[Fault, ...] = (
    # missing or null (each required field and schema_version)
    *(
        Fault("missing_field", f"{name}:missing", "absent", lambda rng, pairs, ctx: DROP)
        for name in ("schema_version", "txn_id", "ticker", "timestamp", "price", "volume", "action")
    ),
    *(
        Fault("empty_or_null", f"{name}:missing", "null", _text("null"))
        for name in ("schema_version", "txn_id", "ticker", "timestamp", "price", "volume", "action")
    ),
    Fault("empty_or_null", "txn_id:blank", "blank", _choice('""', '" "', '"\\t"', '"   "', '"\\n"')),
    Fault("empty_or_null", "ticker:unknown", "empty", _text('""')),
    Fault("empty_or_null", "action:unknown", "empty", _text('""')),
    Fault("empty_or_null", "price:type", "empty", _text('""')),
    Fault("empty_or_null", "volume:type", "empty", _text('""')),
    Fault("empty_or_null", "timestamp:type", "empty", _text('""')),
    Fault("empty_or_null", "schema_version:type", "empty", _text('""')),
    # wrong types
    Fault(
        "wrong_type",
        "price:type",
        "not_a_number",
        _choice("true", "false", '"ten"', "[1]", '{"v":1}', '"0x10"', '"1,5"', '"$187"', '["187.25"]'),
    ),
    Fault(
        "wrong_type",
        "volume:type",
        "not_an_integer",
        lambda rng, pairs, ctx: rng.choice(
            [
                f"{_value(pairs, 'volume')}.0",
                f"{_value(pairs, 'volume')}.5",
                "1e2",
                '"abc"',
                "true",
                f"[{_value(pairs, 'volume')}]",
                '"1e2"',
                '{"n":1}',
            ]
        ),
    ),
    Fault(
        "wrong_type",
        "timestamp:type",
        "not_a_timestamp",
        lambda rng, pairs, ctx: rng.choice(
            [
                '"yesterday"',
                str(int(ctx.now.timestamp())),
                '"2026-13-01T00:00:00Z"',
                '"2026-02-30T10:00:00Z"',
                "true",
                f"[{dict(pairs)['timestamp']}]",
                '"10/06/2026 15:30"',
                '"2026-10-06T25:00:00Z"',
            ]
        ),
    ),
    # NaN and infinities (JSON has neither; Python writes them, Spark reads them)
    Fault(
        "nan_or_infinity",
        "price:type",
        "price",
        _choice("NaN", "Infinity", "-Infinity", '"NaN"', '"Infinity"', '"-Infinity"', "+INF"),
    ),
    Fault("nan_or_infinity", "volume:type", "volume", _choice("NaN", "Infinity", "-Infinity", '"NaN"')),
    Fault("nan_or_infinity", "schema_version:type", "schema_version", _choice("NaN", "Infinity")),
    # huge values
    Fault(
        "huge_value",
        "price:range",
        "price",
        lambda rng, pairs, ctx: json.dumps(MAX_PRICE * 10 ** rng.uniform(0, 298)),
    ),
    Fault(
        "huge_value",
        "price:tiny",
        "price",
        lambda rng, pairs, ctx: json.dumps(MIN_PRICE * 10 ** -rng.uniform(0.01, 300)),
    ),
    Fault(
        "huge_value",
        "price:type",
        "price_overflows_double",
        lambda rng, pairs, ctx: f"1e{rng.randint(309, 999)}",
    ),
    Fault(
        "huge_value",
        "volume:range",
        "volume",
        lambda rng, pairs, ctx: str(rng.randint(MAX_VOLUME, 2**63 - 1)),
    ),
    Fault(
        "huge_value",
        "volume:type",
        "volume_overflows_bigint",
        lambda rng, pairs, ctx: str(rng.randint(2**63, 10**40)),
    ),
    Fault(
        "huge_value",
        "schema_version:type",
        "schema_version_overflows_int",
        lambda rng, pairs, ctx: str(rng.randint(2**31, 10**20)),
    ),
    Fault(
        "huge_value",
        "ticker:unknown",
        "ticker_kilobytes",
        lambda rng, pairs, ctx: json.dumps(_letters(rng, rng.randint(1000, 12000))),
    ),
    Fault(
        "huge_value",
        "action:unknown",
        "action_kilobytes",
        lambda rng, pairs, ctx: json.dumps("BUY" * rng.randint(300, 4000)),
    ),
    # prices and volumes <= 0
    Fault(
        "non_positive_price",
        "price:non_positive",
        "zero_or_negative",
        lambda rng, pairs, ctx: rng.choice(
            [
                "0",
                "0.0",
                "-0.0",
                json.dumps(-rng.uniform(0.01, 5000)),
                "-1e-09",
                "-1e300",
                json.dumps(-MAX_PRICE * 100),
                '"-5"',
                '"0"',
            ]
        ),
    ),
    Fault(
        "non_positive_volume",
        "volume:non_positive",
        "zero_or_negative",
        lambda rng, pairs, ctx: rng.choice(
            ["0", "-1", str(-rng.randint(1, 10**6)), '"-5"', '"0"', str(-(2**63)), "-0"]
        ),
    ),
    # unknown tickers and actions
    Fault("unknown_ticker", "ticker:unknown", "not_in_dim_stock", _unknown_ticker),
    Fault("unknown_ticker", "ticker:unknown", "not_a_string", _choice("123", "true", "[]", '{"t":"AAPL"}')),
    Fault(
        "unknown_action",
        "action:unknown",
        "not_buy_or_sell",
        _choice(
            '"HOLD"',
            '"buy"',
            '"Sell"',
            '" BUY"',
            '"SELL "',
            '"SHORT"',
            '"B"',
            '"\\uff22\\uff35\\uff39"',
            "true",
            "1",
            '["BUY"]',
        ),
    ),
    # schema versions
    Fault(
        "wrong_schema_version",
        "schema_version:unknown",
        "other_version",
        lambda rng, pairs, ctx: rng.choice(
            ["0", "2", "-1", "99", "2147483647", '"2"', '"0"', str(rng.randint(2, 10**6))]
        ),
    ),
    Fault(
        "schema_version_type",
        "schema_version:type",
        "not_an_integer",
        _choice('"one"', "true", "false", "1.0", "1e0", "[1]", '{"v":1}', '"1.5"', '"v1"', "1.5"),
    ),
    # timestamps out of range
    Fault("timestamp_out_of_range", "timestamp:range", "before_2000", _before_2000),
    Fault("timestamp_out_of_range", "timestamp:range", "after_tomorrow", _future),
    Fault("timestamp_out_of_range", "timestamp:range", "year_moved", _shifted_out),
    Fault(
        "timestamp_out_of_range",
        "timestamp:range",
        "edges",
        _choice(
            '"1999-12-31T23:59:59.999Z"',
            '"0001-01-01T00:00:00Z"',
            '"9999-12-31T23:59:59Z"',
            '"1970-01-01T00:00:00Z"',
        ),
    ),
)
FAULTS_BY_CATEGORY: dict[str, list[Fault]] = {}
for _fault in FAULTS:
    FAULTS_BY_CATEGORY.setdefault(_fault.category, []).append(_fault)


def apply_faults(
    rng: random.Random, pairs: Pairs, faults: Sequence[Fault], ctx: Context
) -> tuple[bytes, Reason]:
    """The record with every fault applied (one per field) and the reason of the earliest rule
    any of them breaks."""
    for fault in faults:
        pairs = replace(pairs, fault.field, fault.make(rng, pairs, ctx))
    value = render(pairs)
    if len(value) > MAX_PAYLOAD_BYTES:  # e.g. two fields of kilobytes: the size rule comes first
        return value, RULE_REASON["oversized"]
    first = min(faults, key=lambda f: RULE_INDEX[f.rule])
    return value, RULE_REASON[first.rule]


# --- whole-value mutations ----------------------------------------------------------------------------

INVALID_UTF8 = (
    b"\xff",
    b"\xfe",
    b"\x80",
    b"\xc0\xaf",  # overlong '/'
    b"\xed\xa0\x80",  # a UTF-16 surrogate
    b"\xe2\x82",  # a 3-byte sequence cut short
    b"\xf4\x90\x80\x80",  # beyond U+10FFFF
    b"\xf8\x88\x80\x80\x80",  # 5-byte form
)


def _joined(parts: Sequence[str], joints: Sequence[str]) -> bytes:
    """'{' part0 joint0 part1 joint1 ... '}' as UTF-8."""
    return ("{" + "".join(p + j for p, j in zip(parts, [*joints, ""], strict=True)) + "}").encode()


def _no_colon(rng: random.Random, pairs: Pairs) -> bytes:
    parts = items(pairs)
    at = rng.randrange(len(parts))
    parts[at] = parts[at].replace('":', '"', 1)  # names hold no quotes: the first '":' is the colon
    return _joined(parts, [","] * (len(parts) - 1))


def _no_comma(rng: random.Random, pairs: Pairs) -> bytes:
    parts = items(pairs)
    joints = [","] * (len(parts) - 1)
    joints[rng.randrange(len(joints))] = ""
    return _joined(parts, joints)


def _not_an_object(rng: random.Random, pairs: Pairs) -> bytes:
    text = render(pairs)
    return rng.choice(
        [
            b"[]",
            b"[" + text + b"]",
            b"[" + text + b"," + text + b"]",
            str(rng.randint(-(10**6), 10**6)).encode(),
            json.dumps(_letters(rng, 8)).encode(),
            b"true",
            b"null",
            b" \n\t ",
            _letters(rng, rng.randint(1, 40), string.ascii_letters + string.digits + " ,;").encode(),
        ]
    )


BROKEN_JSON: dict[str, Callable[[random.Random, Pairs], bytes]] = {
    "truncated": lambda rng, pairs: (text := render(pairs))[: rng.randint(1, len(text) - 1)],
    "no_colon": _no_colon,
    "no_comma": _no_comma,
    "unquoted_key": lambda rng, pairs: render(pairs).replace(
        f'"{(name := rng.choice(pairs)[0])}":'.encode(), f"{name}:".encode(), 1
    ),
    "single_quotes": lambda rng, pairs: render(pairs).replace(b'"', b"'"),
    "trailing_comma": lambda rng, pairs: render(pairs)[:-1] + b",}",
    "comment": lambda rng, pairs: render(pairs).replace(b",", b",/* note */", 1),
    "leading_zero": lambda rng, pairs: render(replace(pairs, "volume", f"0{_value(pairs, 'volume')}")),
    "plus_sign": lambda rng, pairs: render(replace(pairs, "price", f"+{dict(pairs)['price']}")),
    "unclosed_string": lambda rng, pairs: render(replace(pairs, "ticker", str(dict(pairs)["ticker"])[:-1])),
    "not_an_object": _not_an_object,
    "byte_order_mark": lambda rng, pairs: b"\xef\xbb\xbf" + render(pairs),
}


def _broken_json(rng: random.Random, pairs: Pairs, ctx: Context) -> tuple[str, bytes | None]:
    kind = rng.choice(sorted(BROKEN_JSON))
    return kind, BROKEN_JSON[kind](rng, pairs)


def _content_after(rng: random.Random, pairs: Pairs, ctx: Context) -> tuple[str, bytes | None]:
    text = render(pairs)
    tail = rng.choice(
        [
            ("second_record", text),
            ("newline_record", b"\n" + text),
            ("garbage", b" " + _letters(rng, rng.randint(1, 20), string.ascii_lowercase).encode()),
            ("brace", b"}"),
            ("nul", b"\x00"),
            ("array", b"[]"),
            ("number", b" 42"),
        ]
    )
    return tail[0], text + tail[1]


def _non_utf8(rng: random.Random, pairs: Pairs, ctx: Context) -> tuple[str, bytes | None]:
    kind = rng.choice(["invalid_sequence", "latin1_text", "binary"])
    if kind == "binary":
        return kind, b"\xff" + rng.randbytes(rng.randint(0, 200))
    name = rng.choice(["ticker", "currency", "txn_id", "action"])
    marker = "@@"
    body = render(replace(pairs, name, json.dumps(marker + str(_value(pairs, name)))))
    if kind == "latin1_text":
        bad = rng.choice(["é", "ü", "£", "ß", "ñ"]).encode("latin-1")
    else:
        bad = rng.choice(INVALID_UTF8)
    return kind, body.replace(marker.encode(), bad, 1)


def _empty_or_null_value(rng: random.Random, pairs: Pairs, ctx: Context) -> tuple[str, bytes | None, Reason]:
    kind = rng.choice(["empty_value", "null_value", "empty_object"])
    if kind == "empty_value":
        return kind, b"", Reason.UNPARSEABLE_JSON
    if kind == "null_value":
        return kind, None, Reason.UNPARSEABLE_JSON
    return kind, b"{}", Reason.MISSING_FIELD  # schema_version is the first field judged


def _oversized(rng: random.Random, pairs: Pairs, ctx: Context) -> tuple[str, bytes | None]:
    # Mostly just over the limit; a few of hundreds of kilobytes (Kafka's default limit is 1 MiB).
    roll = rng.random()
    if roll < 0.95:
        size = rng.randint(MAX_PAYLOAD_BYTES + 1, 2 * MAX_PAYLOAD_BYTES)
    elif roll < 0.995:
        size = rng.randint(2 * MAX_PAYLOAD_BYTES, 128 * 1024)
    else:
        size = rng.randint(128 * 1024, 900 * 1024)
    kind = rng.choice(["padded_record", "junk", "non_utf8_junk", "deep"])
    if kind == "padded_record":
        bare = render([*pairs, ("pad", '""')])
        return kind, render([*pairs, ("pad", json.dumps("x" * (size - len(bare))))])
    if kind == "junk":
        return kind, _letters(rng, size, string.printable).encode()
    if kind == "non_utf8_junk":
        return kind, b"\xff" + rng.randbytes(size - 1)
    depth = size // 2
    return kind, ("[" * depth + "]" * depth).encode() + b" " * (size - 2 * depth)


def _deep(rng: random.Random, pairs: Pairs, ctx: Context) -> tuple[str, bytes | None]:
    """Nesting Spark refuses (deeper than SPARK_MAX_NESTING), or nesting Python's decoder cannot
    follow but Spark accepts, with content after the object."""
    if rng.random() < 0.5:
        depth = rng.randint(SPARK_MAX_NESTING, 3000)
        return "beyond_spark", render([*pairs, ("x", _nested(rng, depth))])
    # Depth counts the record's own object: these stay within Spark's limit.
    depth = rng.randint(SPARK_MAX_NESTING - 10, SPARK_MAX_NESTING - 1)
    return "beyond_python_then_content", render([*pairs, ("x", "[" * depth + "]" * depth)]) + b"{}"


def _compound(rng: random.Random, pairs: Pairs, ctx: Context) -> tuple[str, bytes | None, Reason]:
    """Two to four fields broken at once: the earliest rule names the reason."""
    by_field: dict[str, list[Fault]] = {}
    for fault in FAULTS:
        by_field.setdefault(fault.field, []).append(fault)
    fields = rng.sample(sorted(by_field), rng.randint(2, 4))
    faults = [rng.choice(by_field[name]) for name in fields]
    value, reason = apply_faults(rng, pairs, faults, ctx)
    return "+".join(f.rule for f in faults), value, reason


WHOLE: dict[str, tuple[Reason, Callable[[random.Random, Pairs, Context], tuple[str, bytes | None]]]] = {
    "broken_json": (Reason.UNPARSEABLE_JSON, _broken_json),
    "content_after_object": (Reason.UNPARSEABLE_JSON, _content_after),
    "non_utf8": (Reason.UNPARSEABLE_JSON, _non_utf8),
    "oversized_payload": (Reason.OVERSIZED_PAYLOAD, _oversized),
    "deep_nesting": (Reason.UNPARSEABLE_JSON, _deep),
}


def bad_record(rng: random.Random, category: str, txn: Transaction, marker: str, ctx: Context) -> Record:
    """One bad record of `category` made from `txn` (its txn_id replaced by `marker`, so a bad
    record that silver wrongly keeps shows up as a txn_id nobody published)."""
    pairs = pairs_of(txn, marker)
    key = txn.ticker.encode()
    if category in WHOLE:
        reason, make = WHOLE[category]
        variant, value = make(rng, pairs, ctx)
        return Record(key, value, reason, f"{category}/{variant}")
    if category == "compound":
        variant, value, reason = _compound(rng, pairs, ctx)
        return Record(key, value, reason, f"{category}/{variant}")
    if category == "empty_or_null" and rng.random() < 0.3:
        variant, value, reason = _empty_or_null_value(rng, pairs, ctx)
        return Record(key, value, reason, f"{category}/{variant}")
    fault = rng.choice(FAULTS_BY_CATEGORY[category])
    value, reason = apply_faults(rng, pairs, [fault], ctx)
    return Record(key, value, reason, f"{category}/{fault.rule}:{fault.variant}")


def bad_records(
    rng: random.Random, txns: Sequence[Transaction], count: int, ctx: Context, prefix: str = "malformed"
) -> list[Record]:
    """`count` bad records spread evenly over CATEGORIES, each made from a random transaction."""
    categories = [CATEGORIES[i % len(CATEGORIES)] for i in range(count)]
    rng.shuffle(categories)
    return [
        bad_record(rng, category, rng.choice(txns), f"{prefix}-{i:06d}", ctx)
        for i, category in enumerate(categories)
    ]


# --- valid records in unusual forms -------------------------------------------------------------------


def valid_variant(rng: random.Random, form: str, txn: Transaction, txn_id: str) -> Record:
    """`txn` under a new txn_id, written in a form the contract allows but the producer never
    uses: silver must keep it."""
    pairs = pairs_of(txn, txn_id)
    key: bytes | None = txn.ticker.encode()
    body = {**txn.to_record(), "txn_id": txn_id}
    if form == "pretty_printed":
        value = json.dumps(body, indent=rng.choice([1, 2, 4])).encode()
    elif form == "keys_shuffled":
        rng.shuffle(pairs)
        value = render(pairs)
    elif form == "extra_fields":
        extra = [
            ("_corrupt_record", json.dumps("not corrupt")),
            ("note", json.dumps(_letters(rng, 20))),
            ("nested", '{"a":[1,2,{"b":null}]}'),
            ("venue", "null"),
        ]
        value = render(pairs + rng.sample(extra, rng.randint(1, len(extra))))
    elif form == "exactly_max_size":
        bare = render([*pairs, ("pad", '""')])
        value = render([*pairs, ("pad", json.dumps("x" * (MAX_PAYLOAD_BYTES - len(bare))))])
    elif form == "numbers_as_strings":
        for name in rng.sample(["price", "volume", "schema_version"], rng.randint(1, 3)):
            pairs = replace(pairs, name, json.dumps(str(body[name])))
        value = render(pairs)
    elif form == "timestamp_with_offset":
        zone = timezone(timedelta(minutes=rng.choice([-600, -300, 60, 120, 330, 540])))
        pairs = replace(pairs, "timestamp", json.dumps(txn.timestamp.astimezone(zone).isoformat()))
        value = render(pairs)
    elif form == "currency_absent_or_unicode":
        # '"€"' goes out as raw UTF-8, '"\\u20ac"' as a JSON escape
        value = render(replace(pairs, "currency", rng.choice([DROP, "null", '"€"', '"\\u20ac"', '""'])))
    elif form == "surrounding_whitespace":
        value = rng.choice([b" ", b"\n", b"\t", b"\r\n"]) + render(pairs) + rng.choice([b" ", b"\n", b"\t\n"])
    elif form == "nested_deep_but_allowed":
        # With the record's own object, at most SPARK_MAX_NESTING levels; the deepest are beyond
        # what Python's decoder follows.
        depth = SPARK_MAX_NESTING - 1 - rng.randint(0, 100)
        value = render([*pairs, ("x", "[" * depth + "]" * depth)])
    elif form == "null_key":
        key, value = None, render(pairs)
    else:
        raise ValueError(f"unknown valid form {form!r}")
    return Record(key, value, None, f"valid_form/{form}", txn_id)


def valid_variants(
    rng: random.Random, txns: Sequence[Transaction], count: int, prefix: str = "variant"
) -> list[Record]:
    """`count` valid records in VALID_FORMS (evenly), made from random transactions."""
    return [
        valid_variant(rng, VALID_FORMS[i % len(VALID_FORMS)], rng.choice(txns), f"{prefix}-{i:06d}")
        for i in range(count)
    ]


def lab_records(txns: Sequence[Transaction]) -> list[Record]:
    """The transactions as the replay publishes them."""
    return [Record(t.ticker.encode(), t.to_json(), None, "valid/replay", t.txn_id) for t in txns]


def generate(
    rng: random.Random,
    txns: Sequence[Transaction],
    *,
    bad: int,
    valid: int,
    variants: int,
    ctx: Context,
    prefix: str = "",
) -> list[Record]:
    """`valid` of the transactions as published, `variants` valid records in unusual forms and
    `bad` malformed ones, shuffled together."""
    chosen = rng.sample(list(txns), min(valid, len(txns)))
    records = [
        *lab_records(chosen),
        *valid_variants(rng, txns, variants, prefix=f"{prefix}variant"),
        *bad_records(rng, txns, bad, ctx, prefix=f"{prefix}malformed"),
    ]
    rng.shuffle(records)
    return records


# --- publishing and checking --------------------------------------------------------------------------


def publish_records(settings: Settings, records: Sequence[Record]) -> list[tuple[int, int]]:
    """Send the records in order (raw key and value bytes) and return each one's (partition,
    offset)."""
    from contextlib import closing

    from stockstream.broker.replay import producer

    with closing(producer(settings)) as prod:
        futures = [prod.send(settings.topic, key=r.key, value=r.value) for r in records]
        prod.flush()
        coordinates = []
        for future in futures:
            metadata = future.get(timeout=60)
            coordinates.append((int(metadata.partition), int(metadata.offset)))
    return coordinates


@dataclass
class Verdict:
    """silver and silver.quarantine against the records published."""

    lost: int = 0  # valid records missing from silver + bad ones missing from quarantine
    duplicated: int = 0  # rows beyond one per valid txn_id or per quarantined record
    wrong_reasons: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)  # rows nobody published as such
    reasons: Counter[str] = field(default_factory=Counter)  # quarantine rows by reason

    @property
    def exact(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and not self.wrong_reasons and not self.unexpected


def judge(
    records: Sequence[Record],
    coordinates: Sequence[tuple[int, int]],
    silver: Sequence[tuple[str, int, int]],
    quarantine: Sequence[tuple[int, int, str]],
) -> Verdict:
    """Every bad record in quarantine once at its coordinates with its reason, every valid one in
    silver once at its coordinates, nothing else. silver: (txn_id, partition, offset) rows;
    quarantine: (partition, offset, reason) rows."""
    verdict = Verdict()
    kept: dict[str, list[tuple[int, int]]] = {}
    for txn_id, partition, offset in silver:
        kept.setdefault(txn_id, []).append((partition, offset))
    rejected: dict[tuple[int, int], list[str]] = {}
    for partition, offset, reason in quarantine:
        rejected.setdefault((partition, offset), []).append(reason)
        verdict.reasons[reason] += 1
    expected_ids: set[str] = set()
    for record, where in zip(records, coordinates, strict=True):
        if record.reason is None:
            assert record.txn_id is not None
            expected_ids.add(record.txn_id)
            rows = kept.get(record.txn_id, [])
            if not rows:
                verdict.lost += 1
            verdict.duplicated += max(0, len(rows) - 1)
            if rows and where not in rows:
                verdict.unexpected.append(
                    f"{record.family} {record.txn_id} kept from {rows[0]}, published at {where}"
                )
            if where in rejected:
                verdict.unexpected.append(
                    f"valid {record.family} at {where} quarantined as {rejected[where]}"
                )
            continue
        reasons = rejected.get(where, [])
        if not reasons:
            verdict.lost += 1
            continue
        verdict.duplicated += len(reasons) - 1
        if reasons[0] != record.reason.value:
            verdict.wrong_reasons.append(
                f"{record.family} at {where}: {reasons[0]} instead of {record.reason.value}"
                f" ({(record.value or b'')[:60]!r})"
            )
    verdict.unexpected += [
        f"silver txn_id {txn_id!r} was never published valid" for txn_id in sorted(kept.keys() - expected_ids)
    ]
    verdict.unexpected += [
        f"quarantine row at {where} was never published"
        for where in sorted(rejected.keys() - set(coordinates))
    ]
    return verdict


def supervisor_restarts(settings: Settings) -> tuple[int, int]:
    """(job starts, job failures) in the supervisor's log of the stream (logs/stream.log)."""
    path = settings.log_dir / "stream.log"
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    starts = len(re.findall(r"supervise\[stream\] INFO stream started \(pid \d+\)", text))
    failures = len(re.findall(r"supervise\[stream\] WARNING stream failed with", text))
    return starts, failures


def known_tickers(settings: Settings) -> frozenset[str]:
    """The tickers of the instance's reference.dim_stock."""
    return frozenset(str(t) for t in lake.read(settings, DIM_STOCK, columns=["ticker"])["ticker"])


def describe_reasons(counts: Counter[str]) -> str:
    return ", ".join(
        f"{reason} {counts[reason]:,}" for reason in sorted(counts, key=lambda r: (-counts[r], r))
    )


@dataclass
class Trial:
    """What one trial published and found."""

    records: list[Record]
    verdict: Verdict | None = None  # None when the trial did not get as far as the check
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0  # first record published to silver caught up
    restarts: int = 0


def trial(
    lab: Lab,
    rng: random.Random,
    name: str,
    *,
    bad: int,
    valid: int,
    variants: int,
    chunks: int,
    seconds: float,
) -> Trial:
    """One fresh instance and its supervised stream fed the generated records in `chunks` chunks
    over `seconds`; then the checks of judge() and of the job's health."""
    from stockstream.services.stream import StreamService

    settings = lab.instance(name)
    ctx = Context(known_tickers(settings), datetime.now(UTC))
    records = generate(rng, lab.txns, bad=bad, valid=valid, variants=variants, ctx=ctx, prefix=f"{name}-")
    result = Trial(records)
    service = lab.start_stream(settings)
    pid_before = stream_job_pid(settings)
    started = time.monotonic()
    coordinates: list[tuple[int, int]] = []
    size = -(-len(records) // chunks)
    try:
        for i in range(chunks):
            time.sleep(max(0.0, started + seconds * i / chunks - time.monotonic()))
            coordinates += publish_records(settings, records[i * size : (i + 1) * size])
        lab.wait_caught_up(settings)
    except Exception as exc:  # the trial fails with it; the scenario goes on
        result.problems.append(f"{type(exc).__name__}: {exc}")
    result.seconds = time.monotonic() - started
    pid_after = stream_job_pid(settings)
    unhealthy = service.unhealthy_reason()
    starts, failures = supervisor_restarts(settings)
    StreamService(settings).stop()
    result.restarts = max(starts - 1, failures)
    if not result.problems:
        silver = lake.read(settings, SILVER_TRANSACTIONS, columns=["txn_id", "partition", "offset"])
        quarantine = lake.read(settings, SILVER_QUARANTINE, columns=["partition", "offset", "reason"])
        result.verdict = verdict = judge(
            records,
            coordinates,
            list(silver.itertuples(index=False, name=None)),
            list(quarantine.itertuples(index=False, name=None)),
        )
        expected = Counter(r.reason.value for r in records if r.reason is not None)
        if verdict.lost or verdict.duplicated:
            result.problems.append(f"{verdict.lost} lost, {verdict.duplicated} duplicated")
        if verdict.wrong_reasons:
            result.problems.append(
                f"{len(verdict.wrong_reasons)} wrong reasons, e.g. {verdict.wrong_reasons[:3]}"
            )
        if verdict.unexpected:
            result.problems.append(
                f"{len(verdict.unexpected)} unexpected rows, e.g. {verdict.unexpected[:3]}"
            )
        if verdict.reasons != expected:
            result.problems.append(
                f"quarantined by reason {dict(verdict.reasons)} != expected {dict(expected)}"
            )
    if pid_before is None or pid_after != pid_before:
        result.problems.append(f"the job pid changed from {pid_before} to {pid_after}")
    if (starts, failures) != (1, 0):
        result.problems.append(f"the supervisor's log shows {starts} job starts and {failures} failures")
    if unhealthy is not None:
        result.problems.append(f"the stream was not healthy after the input: {unhealthy}")
    lab.remove(settings)
    return result


def run(
    lab: Lab,
    rng: random.Random,
    *,
    bad: int = 10_000,
    valid: int | None = None,
    variants: int = 500,
    chunks: int = 5,
    publish_seconds: float = 20.0,
    trials: int = 1,
) -> Figure:
    """`trials` times: a fresh instance and its supervised stream; `bad` malformed records (every
    category of CATEGORIES), `valid` of the lab's transactions (all by default) and `variants`
    valid records in unusual forms, shuffled and published in `chunks` chunks over
    `publish_seconds` while the stream runs. Once silver has caught up: every bad record in
    silver.quarantine once with its reason, every valid one in silver once, nothing else, and the
    job never restarted (the same job pid before and after, one start and no failure in the
    supervisor's log) and healthy."""
    figure = Figure(TITLE)
    n_valid = len(lab.txns) if valid is None else min(valid, len(lab.txns))
    reasons: Counter[str] = Counter()
    wrong = restarts = 0
    seconds = []
    for i in range(trials):
        result = trial(
            lab,
            rng,
            f"malformed-{i}",
            bad=bad,
            valid=n_valid,
            variants=variants,
            chunks=max(1, chunks),
            seconds=publish_seconds,
        )
        figure.records += len(result.records)
        if result.verdict is not None:
            figure.lost += result.verdict.lost
            figure.duplicated += result.verdict.duplicated
            reasons.update(result.verdict.reasons)
            wrong += len(result.verdict.wrong_reasons)
        restarts += result.restarts
        seconds.append(result.seconds)
        figure.trial(not result.problems, "; ".join(result.problems))
        log.info("malformed trial %d: %s", i, "; ".join(result.problems) or "ok")
    figure.notes.append(
        f"per trial {bad:,} malformed records ({len(CATEGORIES)} categories) and "
        f"{n_valid + variants:,} valid ({variants:,} in unusual forms), shuffled, {chunks} chunks over "
        f"{publish_seconds:.0f} s to the running stream; quarantined by reason: "
        f"{describe_reasons(reasons) or 'none'}; wrong reasons: {wrong}; "
        f"job restarts: {restarts}; publish to caught up: {', '.join(f'{s:.0f} s' for s in seconds)}"
    )
    return figure
