"""Consent's own Prometheus metrics, served with the platform's at ``/metrics``.

Labels carry kinds and reasons only, never an address or a visitor id.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter

from byggrygg_shared.mail_outbox import MailMetrics

# byggrygg_consent_mails_sent{kind}, byggrygg_consent_mail_send_failures{error},
# byggrygg_consent_mail_backlog: the mail sender's (byggrygg_shared.mail_outbox).
mail_metrics: Final = MailMetrics.register("consent")
analytics_events_dropped_total: Final = Counter(
    "byggrygg_consent_analytics_events_dropped",
    "Analytics events dropped because the visitor's current choice excludes analytics (R11).",
    ["reason"],
)
analytics_events_stored_total: Final = Counter(
    "byggrygg_consent_analytics_events_stored",
    "Analytics events stored from visitors who consented to analytics (R11).",
)
