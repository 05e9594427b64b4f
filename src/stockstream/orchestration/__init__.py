"""What the Airflow DAGs do, as plain functions of the package: the DAG files and the operators in
plugins/ only wire these together, and tests call them without Airflow."""
