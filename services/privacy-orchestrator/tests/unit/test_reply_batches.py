"""Grouping a batch of replies by request (``service_layer.reply_batches``): every reply in
exactly one group, each request's in the order read; the policy's bounds."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from byggrygg_shared.contracts.privacy import ParticipantReplied
from byggrygg_shared.envelope import ReceivedEvent
from privacy_orchestrator.service_layer.reply_batches import BatchPolicy, Reply, group_by_request

PARTICIPANTS = ("identity", "courses", "consent", "reporting")


def reply(request_id: UUID, participant: str) -> Reply:
    replied = ParticipantReplied(
        request_id=request_id,
        participant=participant,  # type: ignore[arg-type]
        command="erase",
        subject_ref="subj_" + uuid4().hex,
        outcome="completed",
        evidence=[],
        export=None,
        replied_at=datetime.now(UTC),
    )
    received = ReceivedEvent(
        id=str(uuid4()),
        type=replied.ce_type(),
        source=participant,
        subject=None,
        time=None,
        correlation_id=str(request_id),
        causation_id=None,
        tenant_id=None,
        data={},
    )
    return replied, received


@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from(PARTICIPANTS)), max_size=40))
def test_every_reply_is_in_exactly_one_group_in_the_order_read(
    picks: list[tuple[int, str]],
) -> None:
    requests = [uuid4() for _ in range(6)]
    batch = [reply(requests[index], participant) for index, participant in picks]

    groups = group_by_request(batch)

    positions = sorted(p for group in groups.values() for p in group)
    assert positions == list(range(len(batch)))
    for request_id, group in groups.items():
        assert group == sorted(group)
        assert all(batch[p][0].request_id == request_id for p in group)
    # Requests in the order their first reply was read.
    assert list(groups) == list(dict.fromkeys(r.request_id for r, _ in batch))


@pytest.mark.parametrize("bad", [{"concurrency": 0}, {"max_attempts": 0}])
def test_a_policy_needs_at_least_one_sender_and_one_attempt(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        BatchPolicy(**bad)
