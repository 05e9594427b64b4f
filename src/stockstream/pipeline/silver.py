"""bronze rows -> silver transactions and quarantine: parse once with an explicit schema, validate
with reason codes, enrich with reference.dim_stock (broadcast), de-duplicate on txn_id.

Every function here is a pure DataFrame -> DataFrame transform that works on batch and streaming
frames alike; the streaming job and the day finaliser share them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from stockstream.market.transactions import ACTIONS, SCHEMA_VERSION

# Every contract field is read as a string: Spark's JSON reader renders any JSON value of a string
# field as its text, so one parse tells a missing field (null) from a wrong type (text that does
# not cast) and keeps the offending value for the quarantine's detail.
CONTRACT_FIELDS = ("txn_id", "ticker", "timestamp", "price", "volume", "action", "currency", "schema_version")
REQUIRED_FIELDS = ("txn_id", "ticker", "timestamp", "price", "volume", "action")
CORRUPT = "_corrupt_record"
SENTINEL = "_stockstream_end"
"""The field `marked` writes at the end of a record's text: where the first object must end."""
RAW_SCHEMA = StructType([StructField(name, StringType()) for name in (*CONTRACT_FIELDS, SENTINEL, CORRUPT)])
# Spark's JSON reader accepts single-quoted strings by default: they are not JSON.
JSON_OPTIONS = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT, "allowSingleQuotes": "false"}
# \z, not $: Java's $ also matches before a final line terminator such as U+2028, which JSON
# does not count as whitespace.
LAST_BRACE = r"([^{ \t\n\r][ \t\n\r]*)\}[ \t\n\r]*\z"
"""A text's closing `}` (JSON whitespace may follow), with what precedes it unless that is `{`."""
EMPTY_OBJECT = r"\A[ \t\n\r]*\{[ \t\n\r]*\}[ \t\n\r]*\z"
MAX_PAYLOAD_BYTES = 16 * 1024
EARLIEST_EVENT = "2000-01-01 00:00:00"
FUTURE_TOLERANCE = "INTERVAL 1 DAY"
# The largest price and volume silver accepts: gold sums price x volume exactly in DECIMAL
# (gold.py: a price must fit decimal(18,8), so stay below 10^10), and a day's volumes in BIGINT.
# A value beyond them would pass silver and then fail every retry of the batch's gold rebuild
# (ANSI overflow), stopping the stream; 10^12 shares a trade leaves room for millions a day.
MAX_PRICE = 1e10  # 10^10, as the details say
MAX_VOLUME = 10**12
# The smallest price silver accepts: gold keeps 8 decimals of a price (a smaller one would be 0
# there), and with both bounds a day's growth stays below 10^20 %, which gold's means can hold.
MIN_PRICE = 1e-8

DIM_COLUMNS = ("name", "sector", "industry", "country", "exchange", "exchange_timezone")
SILVER_COLUMNS = (
    "txn_id",
    "ticker",
    "event_time",
    "price",
    "volume",
    "action",
    "currency",
    "schema_version",
    "trade_date",
    *DIM_COLUMNS,
    "topic",
    "partition",
    "offset",
    "ingest_time",
)
QUARANTINE_COLUMNS = (
    "value",
    "key",
    "topic",
    "partition",
    "offset",
    "kafka_timestamp",
    "reason",
    "detail",
    "quarantined_at",
    "quarantine_date",
)


class Reason(StrEnum):
    """Why a record was quarantined (silver.quarantine.reason)."""

    OVERSIZED_PAYLOAD = "oversized_payload"
    UNPARSEABLE_JSON = "unparseable_json"
    UNKNOWN_SCHEMA_VERSION = "unknown_schema_version"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    NON_POSITIVE_PRICE = "non_positive_price"
    NON_POSITIVE_VOLUME = "non_positive_volume"
    UNKNOWN_ACTION = "unknown_action"
    UNKNOWN_TICKER = "unknown_ticker"
    TIMESTAMP_OUT_OF_RANGE = "timestamp_out_of_range"


@dataclass(frozen=True)
class Rule:
    """One validation rule: the first rule whose condition holds names the record's reason."""

    reason: Reason
    failed: Column
    detail: Column


def parse(bronze: DataFrame) -> DataFrame:
    """bronze rows plus `raw`: the JSON value parsed once into strings (null when not an object),
    from the text marked by `marked`, so `raw` also tells whether the object is all of it."""
    text = F.col("value").cast("string")
    return bronze.withColumn("raw", F.from_json(marked(text), RAW_SCHEMA, JSON_OPTIONS))


def mark_of(text: Column) -> Column:
    """The marker value of a text: its 64-bit hash, which a record cannot carry in itself (it
    would have to contain the hash of a text that contains it)."""
    return F.xxhash64(text).cast("string")


def marked(text: Column) -> Column:
    """The text with a marker field written just inside its last `}`.

    Spark's JSON reader stops after the first value, so two records glued in one Kafka value
    would pass as the first. In a text that is one object the marker becomes its last field (the
    one that counts, should the record name the field too); in `{...}{...}` or `{...} x}` it lands
    after the first object, where the reader never looks. The nesting depth stays the record's
    own, so Spark's limit applies to the record as sent. A text that does not end in `}` (it
    cannot be one object), or ends in `{}` (an empty object, or not JSON), is left as it is."""
    marker = F.concat(F.lit(f'$1,"{SENTINEL}":"'), mark_of(text), F.lit('"}'))
    return F.regexp_replace(text, F.lit(LAST_BRACE), marker)


def single_object(text: Column) -> Column:
    """True when the parsed text (see marked) is one JSON object and nothing after it; a null text
    is left to the other rules. An empty object has no marker: it is one object when it is all of
    the text (judged only for the texts without the marker, so the usual record pays nothing)."""
    empty = F.coalesce(text.rlike(EMPTY_OBJECT), F.lit(False))
    return F.when(text.isNull() | (_raw(SENTINEL) == mark_of(text)), F.lit(True)).otherwise(empty)


def _raw(field: str) -> Column:
    return F.col(f"raw.{field}")


def _finite(value: Column) -> Column:
    return ~F.isnan(value) & (F.abs(value) < F.lit(float("inf")))


def _typed(parsed: DataFrame) -> DataFrame:
    """Typed candidates of every field (null where the text does not cast) and the payload facts."""
    text = F.col("value").cast("string")
    return parsed.select(
        "*",
        F.octet_length("value").alias("_bytes"),
        F.coalesce(F.is_valid_utf8(text), F.lit(False)).alias("_utf8"),
        single_object(text).alias("_single"),
        _raw("price").try_cast("double").alias("_price"),
        _raw("volume").try_cast("bigint").alias("_volume"),
        _raw("timestamp").try_cast("timestamp").alias("_event_time"),
        _raw("schema_version").try_cast("int").alias("_schema_version"),
    )


def rules() -> list[Rule]:
    """The validation rules in the order they are judged."""
    missing = [
        Rule(Reason.MISSING_FIELD, _raw(name).isNull(), F.lit(f"field {name} is missing or null"))
        for name in REQUIRED_FIELDS
    ]
    # A blank txn_id is as good as none: every record carrying one would collapse into the first
    # (silver de-duplicates on it) and the others vanish as duplicates.
    missing.insert(
        1, Rule(Reason.MISSING_FIELD, _raw("txn_id").rlike(r"^\s*$"), F.lit("field txn_id is empty"))
    )

    def wrong(name: str, typed: Column, expected: str, ok: Column | None = None) -> Rule:
        bad = typed.isNull() if ok is None else (typed.isNull() | ~ok)
        return Rule(
            Reason.WRONG_TYPE,
            bad,
            F.concat(F.lit(f"field {name} must be {expected}, got "), F.substring(_raw(name), 1, 80)),
        )

    now = F.current_timestamp()
    return [
        Rule(
            Reason.OVERSIZED_PAYLOAD,
            F.col("_bytes") > MAX_PAYLOAD_BYTES,
            F.format_string(
                f"payload of %d bytes exceeds the {MAX_PAYLOAD_BYTES} byte limit", F.col("_bytes")
            ),
        ),
        Rule(
            Reason.UNPARSEABLE_JSON,
            F.col("value").isNull() | (F.col("_bytes") == 0),
            F.lit("empty record value"),
        ),
        Rule(Reason.UNPARSEABLE_JSON, ~F.col("_utf8"), F.lit("record value is not valid UTF-8")),
        Rule(
            Reason.UNPARSEABLE_JSON,
            F.col("raw").isNull() | _raw(CORRUPT).isNotNull(),
            F.concat(F.lit("not a JSON object: "), F.substring(F.col("value").cast("string"), 1, 80)),
        ),
        Rule(
            Reason.UNPARSEABLE_JSON,
            ~F.col("_single"),
            F.concat(
                F.lit("content after the JSON object: "), F.substring(F.col("value").cast("string"), 1, 80)
            ),
        ),
        Rule(
            Reason.MISSING_FIELD,
            _raw("schema_version").isNull(),
            F.lit("field schema_version is missing or null"),
        ),
        wrong("schema_version", F.col("_schema_version"), "an integer"),
        Rule(
            Reason.UNKNOWN_SCHEMA_VERSION,
            F.col("_schema_version") != SCHEMA_VERSION,
            F.format_string(
                f"schema_version %d is not the supported {SCHEMA_VERSION}", F.col("_schema_version")
            ),
        ),
        *missing,
        wrong("price", F.col("_price"), "a finite number", _finite(F.col("_price"))),
        Rule(
            Reason.WRONG_TYPE,
            F.col("_price") >= MAX_PRICE,
            F.concat(F.lit("field price must be below 10^10, got "), F.substring(_raw("price"), 1, 80)),
        ),
        Rule(
            Reason.WRONG_TYPE,
            (F.col("_price") > 0) & (F.col("_price") < MIN_PRICE),
            F.concat(F.lit("field price must be at least 10^-8, got "), F.substring(_raw("price"), 1, 80)),
        ),
        wrong("volume", F.col("_volume"), "an integer"),
        Rule(
            Reason.WRONG_TYPE,
            F.col("_volume") >= MAX_VOLUME,
            F.concat(F.lit("field volume must be below 10^12, got "), F.substring(_raw("volume"), 1, 80)),
        ),
        wrong("timestamp", F.col("_event_time"), "an ISO-8601 timestamp"),
        Rule(
            Reason.NON_POSITIVE_PRICE,
            F.col("_price") <= 0,
            F.concat(F.lit("price must be > 0, got "), _raw("price")),
        ),
        Rule(
            Reason.NON_POSITIVE_VOLUME,
            F.col("_volume") <= 0,
            F.concat(F.lit("volume must be > 0, got "), _raw("volume")),
        ),
        Rule(
            Reason.UNKNOWN_ACTION,
            ~_raw("action").isin(*ACTIONS),
            F.concat(
                F.lit(f"action must be one of {', '.join(ACTIONS)}, got "), F.substring(_raw("action"), 1, 80)
            ),
        ),
        Rule(
            Reason.UNKNOWN_TICKER,
            F.col("exchange_timezone").isNull(),
            F.concat(F.lit("ticker not in reference.dim_stock: "), F.substring(_raw("ticker"), 1, 80)),
        ),
        Rule(
            Reason.TIMESTAMP_OUT_OF_RANGE,
            (F.col("_event_time") < F.lit(EARLIEST_EVENT).cast("timestamp"))
            | (F.col("_event_time") > now + F.expr(FUTURE_TOLERANCE)),
            F.concat(
                F.lit(f"timestamp must lie between {EARLIEST_EVENT[:10]} and tomorrow, got "),
                _raw("timestamp"),
            ),
        ),
    ]


def _first_failure(picks: list[tuple[Column, Column]]) -> Column:
    """CASE WHEN c1 THEN v1 WHEN c2 THEN v2 ... END (null when no condition holds)."""
    expr = F.when(picks[0][0], picks[0][1])
    for condition, value in picks[1:]:
        expr = expr.when(condition, value)
    return expr


def validate(bronze: DataFrame, dim_stock: DataFrame) -> DataFrame:
    """bronze rows -> one row per record with its typed fields, its dim_stock columns (broadcast
    join), its trade_date and `reason`/`detail` (null when the record is valid)."""
    dim = dim_stock.select(F.col("ticker").alias("_dim_ticker"), *DIM_COLUMNS)
    typed = _typed(parse(bronze)).join(F.broadcast(dim), _raw("ticker") == F.col("_dim_ticker"), "left")
    checks = rules()
    # A condition on a null value is null, not true: coalesce so a later rule judges the record.
    reason = _first_failure([(F.coalesce(r.failed, F.lit(False)), F.lit(r.reason.value)) for r in checks])
    detail = _first_failure([(F.coalesce(r.failed, F.lit(False)), r.detail) for r in checks])
    event_time = F.col("_event_time")
    local_day = F.to_date(F.from_utc_timestamp(event_time, F.col("exchange_timezone")))
    return typed.select(
        "value",
        "key",
        "topic",
        "partition",
        "offset",
        "kafka_timestamp",
        "ingest_time",
        _raw("txn_id").alias("txn_id"),
        _raw("ticker").alias("ticker"),
        event_time.alias("event_time"),
        F.col("_price").alias("price"),
        F.col("_volume").alias("volume"),
        _raw("action").alias("action"),
        _raw("currency").alias("currency"),
        F.col("_schema_version").alias("schema_version"),
        local_day.alias("trade_date"),
        *DIM_COLUMNS,
        reason.alias("reason"),
        detail.alias("detail"),
    )


def valid_records(validated: DataFrame) -> DataFrame:
    """The valid records in silver's shape, duplicates included."""
    return validated.where(F.col("reason").isNull()).select(*SILVER_COLUMNS)


def first_per_txn(records: DataFrame) -> DataFrame:
    """One row per txn_id: the first received (lowest partition, then offset)."""
    first = Window.partitionBy("txn_id").orderBy("partition", "offset")
    return records.withColumn("_n", F.row_number().over(first)).where(F.col("_n") == 1).drop("_n")


def quarantine_records(validated: DataFrame) -> DataFrame:
    """The rejected records in silver.quarantine's shape."""
    now = F.current_timestamp()
    rejected = validated.where(F.col("reason").isNotNull())
    stamped = rejected.withColumns({"quarantined_at": now, "quarantine_date": F.to_date(now)})
    return stamped.select(*QUARANTINE_COLUMNS)
