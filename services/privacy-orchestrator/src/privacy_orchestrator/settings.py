"""The orchestrator's settings, read from ``BYGGRYGG_*`` variables once, in bootstrap."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field

from byggrygg_shared.contracts.correspondence import COMPLAINT_TOPIC
from byggrygg_shared.contracts.identity import ORGANISATION_TOPIC, USER_TOPIC
from byggrygg_shared.contracts.privacy import REPLIES_TOPIC
from byggrygg_shared.settings import PlatformSettings


class OrchestratorSettings(PlatformSettings):
    """The platform settings plus what only the privacy orchestrator needs."""

    privacy_orchestrator_database_url: str = Field(
        default="postgresql://byggrygg@127.0.0.1:54329/privacy_orchestrator",
        description="The orchestrator's own database (BYGGRYGG_PRIVACY_ORCHESTRATOR_DATABASE_URL).",
    )
    privacy_orchestrator_signing_key_file: Path = Field(
        default=Path(".run/secrets/orchestrator-ed25519.pem"),
        description="The Ed25519 key (PEM) that signs completion records (R19); created on "
        "first start (BYGGRYGG_PRIVACY_ORCHESTRATOR_SIGNING_KEY_FILE).",
    )
    privacy_orchestrator_consumer_group: str = Field(
        default="privacy-orchestrator",
        min_length=1,
        description="Kafka consumer group of the orchestrator's subscribers; a test harness "
        "gives each session its own (BYGGRYGG_PRIVACY_ORCHESTRATOR_CONSUMER_GROUP).",
    )
    privacy_orchestrator_replies_topic: str = Field(
        default=REPLIES_TOPIC,
        min_length=1,
        description="Where the participants' replies are read from "
        "(BYGGRYGG_PRIVACY_ORCHESTRATOR_REPLIES_TOPIC).",
    )

    # --- sub-processors (R12, R13) ---
    # HeiHallo as registered on first start: the simulator's address and the secret files
    # `deploy/local/env.sh` names (the orchestrator signs with one, verifies with the other).
    subprocessor_sim_url: str = Field(
        default="http://127.0.0.1:8201",
        description="HeiHallo's base URL; requests go to <url>/privacy-requests "
        "(BYGGRYGG_SUBPROCESSOR_SIM_URL).",
    )
    subprocessor_sim_orchestrator_secret_file: Path = Field(
        default=Path(".run/secrets/subprocessor-sim-orchestrator.whsec"),
        description="The secret(s) requests to HeiHallo are signed with "
        "(BYGGRYGG_SUBPROCESSOR_SIM_ORCHESTRATOR_SECRET_FILE).",
    )
    subprocessor_sim_secret_file: Path = Field(
        default=Path(".run/secrets/subprocessor-sim.whsec"),
        description="The secret(s) HeiHallo's callbacks are verified with "
        "(BYGGRYGG_SUBPROCESSOR_SIM_SECRET_FILE).",
    )
    privacy_orchestrator_public_url: str = Field(
        default="http://127.0.0.1:8080/api/privacy-orchestrator",
        description="Where sub-processors reach the orchestrator (through the gateway): their "
        "callback URLs start here (BYGGRYGG_PRIVACY_ORCHESTRATOR_PUBLIC_URL).",
    )
    privacy_orchestrator_subprocessor_max_attempts: int = Field(
        default=8, ge=1, description="Attempts of a sub-processor request before escalation."
    )
    privacy_orchestrator_subprocessor_backoff_seconds: float = Field(
        default=1.0, gt=0, description="Wait after the first failed attempt; doubled each time."
    )
    privacy_orchestrator_subprocessor_max_backoff_seconds: float = Field(
        default=300.0, gt=0, description="The longest wait between two attempts."
    )
    privacy_orchestrator_subprocessor_deadline_hours: float = Field(
        default=24.0, gt=0, description="A request not accepted by then is escalated."
    )
    privacy_orchestrator_subprocessor_confirmation_hours: float = Field(
        default=72.0, gt=0, description="An accepted request not confirmed by then is escalated."
    )
    privacy_orchestrator_subprocessor_resend_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="An accepted request without a callback this long after its last attempt "
        "is sent again as a new message (a callback lost while the orchestrator was down).",
    )
    privacy_orchestrator_subprocessor_poll_seconds: float = Field(
        default=0.5, gt=0, description="How often the delivery worker looks for due requests."
    )

    # --- automatic triggers and retention clocks (R2, R6, art. 28(3)(g)) ---
    privacy_orchestrator_user_topic: str = Field(
        default=USER_TOPIC,
        min_length=1,
        description="Identity's user topic: licences revoked, subscriptions cancelled (R6) and "
        "the subjects of each organisation (BYGGRYGG_PRIVACY_ORCHESTRATOR_USER_TOPIC).",
    )
    privacy_orchestrator_organisation_topic: str = Field(
        default=ORGANISATION_TOPIC,
        min_length=1,
        description="Identity's organisation topic: contracts ended (R2, R6) "
        "(BYGGRYGG_PRIVACY_ORCHESTRATOR_ORGANISATION_TOPIC).",
    )
    privacy_orchestrator_complaint_topic: str = Field(
        default=COMPLAINT_TOPIC,
        min_length=1,
        description="Consent's complaint topic: complaints opened place legal holds, resolved "
        "ones release them (R21) (BYGGRYGG_PRIVACY_ORCHESTRATOR_COMPLAINT_TOPIC).",
    )
    privacy_orchestrator_contract_export_offer_days: int = Field(
        default=30,
        ge=0,
        description="How long after a contract ends its controller may take its data back "
        "before erasure starts (art. 28(3)(g)) "
        "(BYGGRYGG_PRIVACY_ORCHESTRATOR_CONTRACT_EXPORT_OFFER_DAYS).",
    )
    privacy_orchestrator_contract_export_reminder_days: int = Field(
        default=7,
        ge=0,
        description="How many days before a contract end's export offer ends its contact "
        "persons are reminded by mail (0: no reminder; an offer no longer than this gets only "
        "the mail that opened it) "
        "(BYGGRYGG_PRIVACY_ORCHESTRATOR_CONTRACT_EXPORT_REMINDER_DAYS).",
    )
    privacy_orchestrator_retention_poll_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How often the retention scheduler looks for offers that ended "
        "(BYGGRYGG_PRIVACY_ORCHESTRATOR_RETENTION_POLL_SECONDS).",
    )
    # The requests' own proof (art. 5(2)) has a clock too (service_layer/proof_retention.py).
    privacy_orchestrator_request_proof_years: int = Field(
        default=3,
        ge=1,
        le=20,
        description="How long an ended request keeps its links to its person (subject, who "
        "filed and decided it, its history); its completion record stays "
        "(BYGGRYGG_PRIVACY_ORCHESTRATOR_REQUEST_PROOF_YEARS).",
    )
    privacy_orchestrator_checkpoint_seconds: float = Field(
        default=3600.0,
        gt=0,
        le=24 * 3600,
        description="How often the orchestrator publishes a signed checkpoint of the records' "
        "chain head on privacy.record-checkpoints.v1 when the chain grew "
        "(BYGGRYGG_PRIVACY_ORCHESTRATOR_CHECKPOINT_SECONDS).",
    )
    privacy_orchestrator_proof_purge_seconds: float = Field(
        default=3600.0,
        gt=0,
        le=24 * 3600,
        description="How often the proof retention runs "
        "(BYGGRYGG_PRIVACY_ORCHESTRATOR_PROOF_PURGE_SECONDS).",
    )

    @property
    def request_proof_retention(self) -> timedelta:
        """The proof clock as a duration, in 365-day years (at most a day short of calendar
        years: the proof is never kept longer than said)."""
        return timedelta(days=365 * self.privacy_orchestrator_request_proof_years)

    privacy_orchestrator_retention_batch_size: int = Field(
        default=200,
        ge=1,
        le=5000,
        description="Subjects filed for erasure per transaction of the retention scheduler "
        "(BYGGRYGG_PRIVACY_ORCHESTRATOR_RETENTION_BATCH_SIZE).",
    )
    privacy_orchestrator_retention_concurrency: int = Field(
        default=4,
        ge=1,
        le=6,
        description="Batches the retention scheduler files at once, each in its own "
        "transaction on its own connection (at most 6: the pool has 10) "
        "(BYGGRYGG_PRIVACY_ORCHESTRATOR_RETENTION_CONCURRENCY).",
    )

    # --- access export (R14) ---
    privacy_orchestrator_export_ttl_hours: float = Field(
        default=168.0,
        gt=0,
        description="How long an assembled access export stays downloadable before it is "
        "deleted (BYGGRYGG_PRIVACY_ORCHESTRATOR_EXPORT_TTL_HOURS).",
    )
    privacy_orchestrator_export_purge_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often the expiry worker deletes expired exports "
        "(BYGGRYGG_PRIVACY_ORCHESTRATOR_EXPORT_PURGE_SECONDS).",
    )

    # --- notices to the person (R10) ---
    # SMTP host, port and timeout are the platform's (BYGGRYGG_SMTP_HOST, _PORT, ...).
    privacy_orchestrator_mail_from: str = Field(
        default="ByggRygg <personvern@byggrygg.no>",
        min_length=3,
        description="The From address of the kept-data notices the orchestrator mails (R10) "
        "(BYGGRYGG_PRIVACY_ORCHESTRATOR_MAIL_FROM).",
    )
    privacy_orchestrator_mail_poll_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How often the mail sender looks for due mail besides being woken on "
        "commit (retries) (BYGGRYGG_PRIVACY_ORCHESTRATOR_MAIL_POLL_SECONDS).",
    )

    # --- participant time-out (R13, DESIGN §5) ---
    privacy_orchestrator_participant_timeout_hours: float = Field(
        default=72.0,
        gt=0,
        description="A participant that has not replied this long after its command was (last) "
        "sent gets it again, the same command "
        "(BYGGRYGG_PRIVACY_ORCHESTRATOR_PARTICIPANT_TIMEOUT_HOURS).",
    )
    privacy_orchestrator_participant_max_resends: int = Field(
        default=3,
        ge=0,
        description="How often a command is sent again before the participant shows as "
        "escalated (BYGGRYGG_PRIVACY_ORCHESTRATOR_PARTICIPANT_MAX_RESENDS).",
    )
    privacy_orchestrator_participant_check_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often the participant time-out worker looks for late replies "
        "(BYGGRYGG_PRIVACY_ORCHESTRATOR_PARTICIPANT_CHECK_SECONDS).",
    )

    # --- throughput (contract ends: many requests at once) ---
    privacy_orchestrator_pool_size: int = Field(
        default=20,
        ge=4,
        le=100,
        description="Connections of the orchestrator's database pool: the replies consumer, "
        "the sub-processor sends, the retention scheduler and the API share it "
        "(BYGGRYGG_PRIVACY_ORCHESTRATOR_POOL_SIZE).",
    )
    privacy_orchestrator_replies_batch_size: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="Most replies read from Kafka at once; a batch is what is there, never "
        "waited for (BYGGRYGG_PRIVACY_ORCHESTRATOR_REPLIES_BATCH_SIZE).",
    )
    privacy_orchestrator_replies_concurrency: int = Field(
        default=8,
        ge=1,
        le=64,
        description="Requests whose replies are recorded at once, each in its own "
        "transaction (BYGGRYGG_PRIVACY_ORCHESTRATOR_REPLIES_CONCURRENCY).",
    )
    privacy_orchestrator_subprocessor_concurrency: int = Field(
        default=8,
        ge=1,
        le=64,
        description="Sub-processor requests sent at once; each holds a pooled connection "
        "while it is sent (BYGGRYGG_PRIVACY_ORCHESTRATOR_SUBPROCESSOR_CONCURRENCY).",
    )
