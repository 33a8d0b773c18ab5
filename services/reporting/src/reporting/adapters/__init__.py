"""Reporting's adapters: the read-model tables and the SQL that reads and writes them."""
