"""Local services of the embedded default: the Kafka broker and Airflow, started natively."""
