"""Nothing listens beyond 127.0.0.1: every socket an in-process SparkSession (its JVM, block
manager, py4j, Python workers) listens on, found through the process tree. The services of
`stockstream up` are checked the same way on the e2e platform (tests/e2e/test_demo.py)."""

from __future__ import annotations

import os

import pytest
from pyspark.sql import SparkSession

from stockstream.services.listeners import exposed, listening_addresses

pytestmark = pytest.mark.integration


def test_a_spark_session_in_this_process_listens_on_the_loopback_only(spark: SparkSession) -> None:
    spark.range(10).selectExpr("sum(id)").collect()  # the executor and its block manager are up
    mine = listening_addresses([os.getpid()])
    assert mine, "the driver's JVM is a child of this process"
    assert exposed(mine) == [], exposed(mine)
