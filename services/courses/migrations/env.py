"""Alembic environment of courses: the target metadata is `courses.adapters.tables.METADATA`
(courses' tables plus the shared events and inbox tables); the wiring, the same for every
service, is `byggrygg_shared.migrations.run_environment`."""

from __future__ import annotations

from byggrygg_shared.migrations import run_environment
from courses.adapters.tables import METADATA
from courses.settings import CoursesSettings

run_environment(METADATA, database_url=lambda: CoursesSettings().courses_database_url)
