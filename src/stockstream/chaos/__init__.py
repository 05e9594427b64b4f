"""Fault injection against the real platform (`stockstream chaos`, `make chaos`): each scenario
starts what it needs (a broker, the supervised stream, Spark), breaks it on purpose, and returns a
Figure (trials, records, lost, duplicated, recovery time) for RELIABILITY.md. The test suite runs
every scenario in a reduced, seeded form (tests/chaos)."""
