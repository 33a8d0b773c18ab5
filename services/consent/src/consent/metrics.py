"""Consent's own Prometheus metrics, served with the platform's at ``/metrics``.

Labels carry kinds and reasons only, never an address or a visitor id.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge

mails_sent_total: Final = Counter(
    "byggrygg_consent_mails_sent", "Mails handed to the SMTP server, by kind.", ["kind"]
)
mail_send_failures_total: Final = Counter(
    "byggrygg_consent_mail_send_failures",
    "Failed attempts to hand a mail to the SMTP server (retried later), by error class.",
    ["error"],
)
mail_backlog: Final = Gauge(
    "byggrygg_consent_mail_backlog", "Mails waiting in the mail outbox (pending)."
)
analytics_events_dropped_total: Final = Counter(
    "byggrygg_consent_analytics_events_dropped",
    "Analytics events dropped because the visitor's current choice excludes analytics (R11).",
    ["reason"],
)
analytics_events_stored_total: Final = Counter(
    "byggrygg_consent_analytics_events_stored",
    "Analytics events stored from visitors who consented to analytics (R11).",
)
