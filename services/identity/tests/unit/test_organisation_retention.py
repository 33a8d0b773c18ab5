"""R2's clocks on an ended customer's own data (the Organisation aggregate's rule): contact
details go once the contract has ended, payment information once no retention claim keeps
it; only a debt or a dispute can be settled, once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity.domain.errors import (
    ContractNotEnded,
    RetentionClaimNotFound,
    RetentionClaimNotSettleable,
)
from identity.domain.organisation import Organisation, OrganisationData
from identity.domain.values import RetentionReason

from .conftest import new_organisation

STAFF = "staff-1"
ENDED_ON = date(2025, 6, 30)
CONTACT, PAYMENT = OrganisationData.CONTACT_DETAILS, OrganisationData.PAYMENT_INFORMATION
MakeOrganisation = Callable[..., Organisation]


def ended(make: MakeOrganisation, *reasons: RetentionReason) -> Organisation:
    organisation = make()
    organisation.end_contract(
        ended_on=ENDED_ON, reasons=list(reasons), bookkeeping_years=5, ended_by=STAFF
    )
    return organisation


def test_a_customer_keeps_its_data(make_organisation: MakeOrganisation) -> None:
    organisation = make_organisation()
    assert organisation.due_erasures(date(2099, 1, 1)) == ()
    assert organisation.erase_due_data(date(2099, 1, 1)) == ()


def test_a_contract_ended_ahead_keeps_everything_until_its_end_date(
    make_organisation: MakeOrganisation,
) -> None:
    organisation = ended(make_organisation)
    assert organisation.due_erasures(ENDED_ON - timedelta(days=1)) == ()
    assert organisation.due_erasures(ENDED_ON) == (CONTACT, PAYMENT)


def test_without_a_claim_everything_goes_at_the_end(make_organisation: MakeOrganisation) -> None:
    organisation = ended(make_organisation)
    assert organisation.erase_due_data(ENDED_ON) == (CONTACT, PAYMENT)
    erased = [e for e in organisation.pending if isinstance(e, Organisation.DataErased)]
    assert [(e.part, e.erased_on) for e in erased] == [(CONTACT, ENDED_ON), (PAYMENT, ENDED_ON)]
    assert organisation.due_erasures(ENDED_ON + timedelta(days=1)) == ()  # erased once


def test_bookkeeping_keeps_payment_information_until_its_date(
    make_organisation: MakeOrganisation,
) -> None:
    organisation = ended(make_organisation, RetentionReason.BOOKKEEPING)
    assert organisation.erase_due_data(ENDED_ON) == (CONTACT,)
    keep_until = date(2030, 6, 30)
    assert organisation.due_erasures(keep_until - timedelta(days=1)) == ()
    assert organisation.erase_due_data(keep_until) == (PAYMENT,)


def test_a_debt_keeps_payment_information_until_settled_even_after_bookkeeping(
    make_organisation: MakeOrganisation,
) -> None:
    organisation = ended(
        make_organisation, RetentionReason.BOOKKEEPING, RetentionReason.OUTSTANDING_DEBT
    )
    organisation.erase_due_data(ENDED_ON)
    long_after = date(2040, 1, 1)
    assert organisation.due_erasures(long_after) == ()
    organisation.settle_claim(
        reason=RetentionReason.OUTSTANDING_DEBT, on=long_after, settled_by=STAFF
    )
    assert organisation.settled == {RetentionReason.OUTSTANDING_DEBT: long_after}
    assert organisation.due_erasures(long_after) == (PAYMENT,)


def test_settling_a_dispute_before_the_bookkeeping_date_still_keeps_it(
    make_organisation: MakeOrganisation,
) -> None:
    organisation = ended(
        make_organisation, RetentionReason.BOOKKEEPING, RetentionReason.LEGAL_DISPUTE
    )
    organisation.erase_due_data(ENDED_ON)
    organisation.settle_claim(reason=RetentionReason.LEGAL_DISPUTE, on=ENDED_ON, settled_by=STAFF)
    assert organisation.due_erasures(ENDED_ON) == ()
    assert [c.reason for c in organisation.claims_in_force(ENDED_ON)] == [
        RetentionReason.BOOKKEEPING
    ]


def test_only_a_recorded_debt_or_dispute_can_be_settled_once(
    make_organisation: MakeOrganisation,
) -> None:
    with pytest.raises(ContractNotEnded):
        make_organisation().settle_claim(
            reason=RetentionReason.LEGAL_DISPUTE, on=ENDED_ON, settled_by=STAFF
        )
    organisation = ended(
        make_organisation, RetentionReason.BOOKKEEPING, RetentionReason.LEGAL_DISPUTE
    )
    with pytest.raises(RetentionClaimNotFound):
        organisation.settle_claim(
            reason=RetentionReason.OUTSTANDING_DEBT, on=ENDED_ON, settled_by=STAFF
        )
    with pytest.raises(RetentionClaimNotSettleable):
        organisation.settle_claim(reason=RetentionReason.BOOKKEEPING, on=ENDED_ON, settled_by=STAFF)
    organisation.settle_claim(reason=RetentionReason.LEGAL_DISPUTE, on=ENDED_ON, settled_by=STAFF)
    with pytest.raises(RetentionClaimNotSettleable):
        organisation.settle_claim(
            reason=RetentionReason.LEGAL_DISPUTE, on=ENDED_ON, settled_by=STAFF
        )


def test_each_part_names_its_own_key_scope(make_organisation: MakeOrganisation) -> None:
    organisation = make_organisation()
    assert organisation.key_scope_of(CONTACT) == organisation.data_key_ref
    assert organisation.key_scope_of(PAYMENT) == organisation.billing_key_ref
    assert organisation.data_key_ref != organisation.billing_key_ref


REASONS = st.sets(st.sampled_from(list(RetentionReason)))
DAYS = st.integers(min_value=-30, max_value=20 * 366)


@given(reasons=REASONS, days=st.lists(DAYS, min_size=1, max_size=6), settle=REASONS)
def test_payment_information_goes_exactly_when_no_claim_is_in_force(
    reasons: set[RetentionReason], days: list[int], settle: set[RetentionReason]
) -> None:
    organisation = ended(new_organisation, *sorted(reasons))
    settled = settle & reasons - {RetentionReason.BOOKKEEPING}
    for reason in sorted(settled):
        organisation.settle_claim(reason=reason, on=ENDED_ON, settled_by=STAFF)
    for offset in sorted(days):
        today = ENDED_ON + timedelta(days=offset)
        organisation.erase_due_data(today)
        in_force = {
            c.reason
            for c in organisation.retention
            if c.reason not in settled and (c.keep_until is None or today < c.keep_until)
        }
        # Claims only ever end, so "erased by now" is "no claim in force now".
        assert (CONTACT in organisation.erased) == (offset >= 0)
        assert (PAYMENT in organisation.erased) == (offset >= 0 and not in_force)
    # replaying the history gives the same clocks
    replayed = Organisation.replay(organisation.pending)
    assert replayed.erased == organisation.erased
    assert replayed.settled == organisation.settled
