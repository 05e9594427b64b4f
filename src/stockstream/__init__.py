"""stockstream: a real-time stock market analysis platform on Kafka, Spark, Delta Lake and Airflow."""

from __future__ import annotations

__version__ = "0.1.0"
