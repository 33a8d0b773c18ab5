"""Courses' domain model: the catalogue and enrolments, their events and rules (no I/O)."""
