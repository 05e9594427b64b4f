"""The streaming lakehouse: pure bronze/silver/gold transforms and the streaming job's wiring."""
