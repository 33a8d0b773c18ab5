"""Reporting's settings, read from ``BYGGRYGG_*`` environment variables once, in bootstrap."""

from __future__ import annotations

import re
from typing import Final, Literal

from pydantic import Field, field_validator

from byggrygg_shared.contracts import courses as courses_contracts
from byggrygg_shared.contracts import privacy as privacy_contracts
from byggrygg_shared.settings import PlatformSettings

_IDENTITY_URL: Final = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~-]+)*")


class ReportingSettings(PlatformSettings):
    """The platform settings plus what only reporting needs."""

    reporting_database_url: str = Field(
        default="postgresql://byggrygg@127.0.0.1:54329/reporting",
        description="reporting's own database (BYGGRYGG_REPORTING_DATABASE_URL).",
    )
    reporting_consumer_group: str = Field(
        default="reporting",
        min_length=1,
        description="Kafka consumer group of reporting's read models; the privacy participant "
        "and the ops read model read in groups named after it (<group>.privacy-commands, "
        "<group>.ops: no subscriber's join rebalances another); a test harness gives each "
        "session its own (BYGGRYGG_REPORTING_CONSUMER_GROUP).",
    )
    reporting_privacy_command_topic: str = Field(
        default="privacy.commands.reporting.v1",
        min_length=1,
        description="Where the privacy orchestrator's commands to reporting are read from.",
    )
    reporting_catalogue_topic: str = Field(
        default=courses_contracts.CATALOGUE_TOPIC,
        min_length=1,
        description="courses' catalogue topic (course structure, assignments).",
    )
    reporting_enrolment_topic: str = Field(
        default=courses_contracts.ENROLMENT_TOPIC,
        min_length=1,
        description="courses' enrolment topic (enrolments, answers, completions).",
    )
    reporting_k_minimum: int = Field(
        default=5,
        ge=2,
        le=1000,
        description="The deployment's minimum k: every cell a contact person sees counts at "
        "least this many distinct people (R5); a query may ask a larger k, never a smaller one.",
    )
    # --- statistics (k-anonymous statistics lane)
    reporting_statistics_period: Literal["month", "quarter"] = Field(
        default="quarter",
        description="The period of the statistics' period dimension. One per deployment, not "
        "per query: months nest in quarters, and publishing both would let a quarter minus two "
        "published months give a suppressed month away (BYGGRYGG_REPORTING_STATISTICS_PERIOD).",
    )
    # --- ops dashboard
    reporting_requests_topic: str = Field(
        default=privacy_contracts.REQUESTS_TOPIC,
        min_length=1,
        description="The privacy orchestrator's request states (RequestStateChanged).",
    )
    reporting_replies_topic: str = Field(
        default=privacy_contracts.REPLIES_TOPIC,
        min_length=1,
        description="The participants' replies to privacy commands (ParticipantReplied).",
    )
    reporting_ops_at_risk_days: int = Field(
        default=7,
        ge=0,
        le=365,
        description="An open request whose deadline is within this many days is at risk "
        "(BYGGRYGG_REPORTING_OPS_AT_RISK_DAYS).",
    )
    reporting_ops_reply_window_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="The participants' reply times are over replies of this many past days "
        "(BYGGRYGG_REPORTING_OPS_REPLY_WINDOW_DAYS).",
    )
    reporting_dashboard_identity_url: str = Field(
        default="",
        description="identity's base URL as a browser reaches it, for the dashboard's sign-in "
        "when the page is served directly (not behind the gateway, where it signs in at the "
        "sibling route /api/identity on the same origin). Empty: served directly, the page "
        "cannot sign in and says to use the gateway. Its origin is added to the page's CSP "
        "connect-src, and identity must list the page's origin in "
        "BYGGRYGG_IDENTITY_CORS_ORIGINS (BYGGRYGG_REPORTING_DASHBOARD_IDENTITY_URL).",
    )

    @field_validator("reporting_dashboard_identity_url")
    @classmethod
    def _absolute_identity_url(cls, value: str) -> str:
        # An origin plus an optional path: it goes into the page's CSP and a <meta> attribute.
        if value and not _IDENTITY_URL.fullmatch(value):
            raise ValueError("expected http(s)://host[:port][/path], no query, no trailing /")
        return value
