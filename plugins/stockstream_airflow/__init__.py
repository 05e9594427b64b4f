"""stockstream's Airflow operators, sensors and assets: thin wrappers over stockstream.orchestration
(Airflow puts plugins/ on sys.path, so DAG files import this package by name)."""
