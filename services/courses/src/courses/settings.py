"""Courses' settings, read from ``BYGGRYGG_*`` environment variables once, in bootstrap."""

from __future__ import annotations

from pydantic import Field

from byggrygg_shared.contracts.identity import USER_TOPIC
from byggrygg_shared.contracts.privacy import command_topic
from byggrygg_shared.settings import PlatformSettings


class CoursesSettings(PlatformSettings):
    """The platform settings plus what only courses needs."""

    courses_database_url: str = Field(
        default="postgresql://byggrygg@127.0.0.1:54329/courses",
        description="courses' own database (BYGGRYGG_COURSES_DATABASE_URL).",
    )
    courses_consumer_group: str = Field(
        default="courses",
        min_length=1,
        description="Kafka consumer group of every courses subscriber; a test harness gives "
        "each session its own (BYGGRYGG_COURSES_CONSUMER_GROUP).",
    )
    courses_user_topic: str = Field(
        default=USER_TOPIC,
        min_length=1,
        description="Where identity's user and licence events are read from.",
    )
    courses_privacy_command_topic: str = Field(
        default=command_topic("courses"),
        min_length=1,
        description="Where the privacy orchestrator's commands to courses are read from.",
    )
