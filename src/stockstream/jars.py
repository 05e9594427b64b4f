"""The JVM jars Maven resolved into the project cache (jvm/pom.xml, `make jars`)."""

from __future__ import annotations

import re
from pathlib import Path

from stockstream.config import Settings
from stockstream.errors import StockstreamError

_VERSION = re.compile(r"-\d+(\.\d+)+([-.][A-Za-z0-9]+)*\.jar$")


def artifact_name(jar: Path) -> str:
    """'kafka-clients-3.9.2.jar' -> 'kafka-clients'."""
    return _VERSION.sub("", jar.name)


def module_jars(settings: Settings, module: str) -> list[Path]:
    """Every jar Maven copied for a module of jvm/pom.xml ('broker' or 'spark'), sorted."""
    folder = settings.jars_dir / module
    jars = sorted(folder.glob("*.jar"))
    if not jars:
        raise StockstreamError(
            f"no {module} jars in {folder}",
            "run `make jars` (Maven resolves jvm/pom.xml once; it needs Maven Central the first time)",
        )
    return jars


def spark_extra_jars(settings: Settings) -> list[Path]:
    """The Kafka connector and Delta jars Spark lacks: artifacts pyspark already ships are left
    out so Spark's own versions are the only ones on the classpath."""
    import pyspark

    shipped = {artifact_name(jar) for jar in (Path(pyspark.__file__).parent / "jars").glob("*.jar")}
    return [jar for jar in module_jars(settings, "spark") if artifact_name(jar) not in shipped]
