from __future__ import annotations

from pathlib import Path

import pytest

from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.jars import artifact_name, module_jars, spark_extra_jars

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("jar", "name"),
    [
        ("kafka-clients-3.9.2.jar", "kafka-clients"),
        ("delta-spark_4.2_2.13-4.4.0.jar", "delta-spark_4.2_2.13"),
        ("zstd-jni-1.5.7-3.jar", "zstd-jni"),
        ("javassist-3.30.2-GA.jar", "javassist"),
    ],
)
def test_artifact_name_drops_the_version(jar: str, name: str) -> None:
    assert artifact_name(Path(jar)) == name


def test_missing_jars_say_how_to_get_them(tmp_path: Path) -> None:
    with pytest.raises(StockstreamError) as info:
        module_jars(Settings(jars_dir=tmp_path), "broker")
    assert "make jars" in str(info.value)


def test_spark_gets_the_connector_and_delta_but_not_what_pyspark_ships() -> None:
    names = {artifact_name(jar) for jar in spark_extra_jars(Settings())}
    assert {"spark-sql-kafka-0-10_2.13", "delta-spark_4.2_2.13", "delta-storage", "kafka-clients"} <= names
    # pyspark already ships these: a second copy would put two versions on one classpath
    assert names.isdisjoint({"scala-library", "jackson-databind", "parquet-hadoop", "hadoop-client-api"})
