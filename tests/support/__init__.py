"""Test fixtures' building blocks: real servers on 127.0.0.1, tenants, Kafka helpers."""
