"""Run real infrastructure on this machine: a Kafka broker, a PostgreSQL server, the services."""
