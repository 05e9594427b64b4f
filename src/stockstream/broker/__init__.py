"""Kafka: the local KRaft broker, topic administration and the replay producer."""
