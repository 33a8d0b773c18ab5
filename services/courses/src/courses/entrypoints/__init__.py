"""How the world reaches courses: the HTTP API and the Kafka consumers."""
