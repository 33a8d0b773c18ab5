"""Reporting's entrypoints: the HTTP API, the Kafka subscribers and the command line."""
