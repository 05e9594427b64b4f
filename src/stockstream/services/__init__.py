"""Local services of the embedded default: the Kafka broker, the supervised streaming job and Airflow,
started natively."""
