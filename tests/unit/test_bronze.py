from __future__ import annotations

from datetime import datetime

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    BinaryType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from stockstream.pipeline.bronze import to_bronze

pytestmark = pytest.mark.unit

KAFKA_SCHEMA = StructType(
    [
        StructField("key", BinaryType()),
        StructField("value", BinaryType()),
        StructField("topic", StringType()),
        StructField("partition", IntegerType()),
        StructField("offset", LongType()),
        StructField("timestamp", TimestampType()),
        StructField("timestampType", IntegerType()),
    ]
)


def test_bronze_keeps_the_record_and_its_coordinates(spark: SparkSession) -> None:
    records = spark.createDataFrame(
        [
            (b"AAPL", b'{"txn_id":"a"}', "transactions", 0, 41, datetime(2026, 11, 20, 14, 30), 0),
            (None, b"\xff not json", "transactions", 2, 7, datetime(2026, 11, 20, 14, 31), 0),
        ],
        KAFKA_SCHEMA,
    )
    bronze = to_bronze(records)
    assert bronze.columns == [
        "key",
        "value",
        "topic",
        "partition",
        "offset",
        "kafka_timestamp",
        "ingest_time",
        "ingest_date",
    ]
    rows = bronze.orderBy("partition").collect()
    assert [(r.key, bytes(r.value), r.topic, r.partition, r.offset, r.kafka_timestamp) for r in rows] == [
        ("AAPL", b'{"txn_id":"a"}', "transactions", 0, 41, datetime(2026, 11, 20, 14, 30)),
        (None, b"\xff not json", "transactions", 2, 7, datetime(2026, 11, 20, 14, 31)),
    ]
    check = bronze.select(F.min(F.col("ingest_date") == F.to_date("ingest_time")).alias("ok")).first()
    assert check is not None and check.ok is True
