"""DAG tests import Airflow with a throwaway AIRFLOW_HOME and the project's plugins folder (set
before Airflow is first imported: Airflow puts the plugins folder on sys.path then)."""

from __future__ import annotations

import os
import tempfile

from stockstream.config import PROJECT_ROOT

os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="stockstream-airflow-home-")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(PROJECT_ROOT / "plugins")
