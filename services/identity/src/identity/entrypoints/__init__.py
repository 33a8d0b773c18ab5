"""Identity's entrypoints: the HTTP API and the Kafka consumers."""
