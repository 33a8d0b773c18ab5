"""Consent's entrypoints: the HTTP API and the Kafka subscribers."""
