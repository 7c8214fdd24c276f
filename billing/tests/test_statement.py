"""The monthly statement, computed from the history the integration services wrote."""

from __future__ import annotations

import pytest

from billing.models import IntegrationEvent
from billing.selectors import Month, billable_days, most_at_once, statement_for
from integrations.models import Integration
from tests.factories import CustomerFactory

from .conftest import Timeline, at

pytestmark = pytest.mark.django_db


def figures(statement) -> dict:
    """{customer code: (billable integrations, most at once, integration days, {name: days})}."""
    return {c.code: (c.billable_integrations, c.max_concurrent, c.integration_days,
                     {line.name: line.billable_days for line in c.integrations})
            for c in statement.customers}


def test_months_crossed_bill_each_month_its_own_days(tenant, customer, timeline):
    timeline.activate("2026-01-20 22:30", name="Amazon AU")
    now = at("2026-03-10 12:00")
    jan = statement_for(tenant=tenant, month=Month(2026, 1), now=now)
    feb = statement_for(tenant=tenant, month=Month(2026, 2), now=now)
    mar = statement_for(tenant=tenant, month=Month(2026, 3), now=now)
    assert figures(jan) == {customer.code: (1, 1, 12, {"Amazon AU": 12})}     # 20th to 31st
    assert figures(feb) == {customer.code: (1, 1, 28, {"Amazon AU": 28})}
    assert figures(mar) == {customer.code: (1, 1, 10, {"Amazon AU": 10})}     # up to today, the 10th
    assert not jan.is_partial and mar.is_partial
    assert statement_for(tenant=tenant, month=Month(2025, 12), now=now).customers == []
    assert statement_for(tenant=tenant, month=Month(2026, 4), now=now).customers == []   # not started yet


def test_turned_off_and_reconnects_do_not_stop_the_billing(tenant, customer, timeline):
    amazon = timeline.activate("2026-03-03 08:00", name="Amazon AU")
    timeline.off(amazon, "2026-03-05 09:00")
    timeline.on(amazon, "2026-03-08 09:00")
    timeline.revoke(amazon, "2026-03-10 03:00")
    assert Integration.objects.get(pk=amazon.pk).status == Integration.Status.ERROR
    timeline.reconnect(amazon, "2026-03-12 10:00")
    timeline.off(amazon, "2026-03-20 10:00")        # and left off into April
    kinds = list(IntegrationEvent.objects.filter(integration_id=amazon.id).values_list("kind", flat=True))
    assert kinds == ["activated", "turned_off", "turned_on", "needs_reconnect", "reconnected", "turned_off"]
    march = statement_for(tenant=tenant, month=Month(2026, 3), now=at("2026-04-15 00:00"))
    april = statement_for(tenant=tenant, month=Month(2026, 4), now=at("2026-04-15 00:00"))
    assert figures(march) == {customer.code: (1, 1, 29, {"Amazon AU": 29})}   # 3rd to 31st, every day
    assert figures(april) == {customer.code: (1, 1, 14, {"Amazon AU": 14})}   # off, but not deleted


def test_deleted_mid_month_bills_up_to_its_deletion_day_and_not_after(tenant, customer, timeline):
    amazon = timeline.activate("2026-03-20 10:00", name="Amazon AU")
    timeline.delete(amazon, "2026-04-15 09:00")
    now = at("2026-06-01 00:00")
    assert figures(statement_for(tenant=tenant, month=Month(2026, 3), now=now)) == {
        customer.code: (1, 1, 12, {"Amazon AU": 12})}
    april = statement_for(tenant=tenant, month=Month(2026, 4), now=now)
    assert figures(april) == {customer.code: (1, 1, 15, {"Amazon AU": 15})}
    line = april.customers[0].integrations[0]
    assert line.deleted_at == at("2026-04-15 09:00") and line.billable_until == at("2026-04-15 09:00")
    assert statement_for(tenant=tenant, month=Month(2026, 5), now=now).customers == []


def test_created_and_deleted_within_a_day_bills_one_day(tenant, customer, timeline):
    brief = timeline.activate("2026-05-07 09:00", name="Brief")
    timeline.delete(brief, "2026-05-07 17:30")
    # Created and deleted before it was ever activated: never billable.
    never = Integration.objects.create(tenant=tenant, customer=customer, marketplace="etsy", name="Never",
                                       created_by=timeline.user)
    timeline.delete(never, "2026-05-08 10:00")
    may = statement_for(tenant=tenant, month=Month(2026, 5), now=at("2026-06-01 00:00"))
    assert figures(may) == {customer.code: (1, 1, 1, {"Brief": 1})}
    assert IntegrationEvent.objects.filter(integration_id=never.id, kind="deleted").exists()


def test_most_at_once_counts_the_same_moment(tenant, customer, timeline, admin_user):
    first = timeline.activate("2026-06-01 00:00", marketplace="amazon", name="Amazon 1")
    timeline.delete(first, "2026-06-10 12:00")
    # Activated at the very moment the first was deleted: never two at once.
    timeline.activate("2026-06-10 12:00", marketplace="etsy", name="Etsy")
    june_so_far = statement_for(tenant=tenant, month=Month(2026, 6), now=at("2026-06-15 00:00"))
    assert figures(june_so_far)[customer.code][1] == 1
    timeline.activate("2026-06-20 08:00", marketplace="amazon", name="Amazon 2")
    sibling = Timeline(CustomerFactory(tenant=tenant, code="SIB", name="Sibling"), admin_user)
    sib = sibling.activate("2026-06-25 00:00", name="Sibling Amazon")
    sibling.delete(sib, "2026-06-26 00:00")
    june = statement_for(tenant=tenant, month=Month(2026, 6), now=at("2026-07-01 00:00"))
    assert figures(june) == {
        customer.code: (3, 2, 10 + 21 + 11, {"Amazon 1": 10, "Etsy": 21, "Amazon 2": 11}),
        "SIB": (1, 1, 1, {"Sibling Amazon": 1}),     # deleted at midnight: the 26th is not billed
    }
    assert june.max_concurrent == 3 and june.billable_integrations == 4 and june.integration_days == 43


def test_another_tenants_integrations_are_never_counted(tenant, other_tenant, customer, timeline, other_timeline):
    timeline.activate("2026-02-02 10:00", name="Ours")
    theirs = other_timeline(customer.code)       # the same customer code in tenant B
    for marketplace in ("amazon", "etsy"):
        theirs.activate("2026-02-01 00:00", marketplace=marketplace, name=f"Theirs {marketplace}")
    now = at("2026-03-01 00:00")
    assert figures(statement_for(tenant=tenant, month=Month(2026, 2), now=now)) == {
        customer.code: (1, 1, 27, {"Ours": 27})}
    assert figures(statement_for(tenant=other_tenant, month=Month(2026, 2), now=now)) == {
        customer.code: (2, 2, 56, {"Theirs amazon": 28, "Theirs etsy": 28})}


def test_the_history_outlives_the_integration_and_its_customer(tenant, customer, timeline):
    amazon = timeline.activate("2026-08-01 06:00", name="Amazon AU")
    timeline.delete(amazon, "2026-08-05 06:00")
    code, name = customer.code, customer.name
    customer.delete()        # cascades to the integration row itself
    assert not Integration.objects.filter(pk=amazon.pk).exists()
    august = statement_for(tenant=tenant, month=Month(2026, 8), now=at("2026-09-01 00:00"))
    assert figures(august) == {code: (1, 1, 5, {"Amazon AU": 5})}
    assert august.customers[0].customer == name
    assert august.customers[0].integrations[0].integration_id == amazon.id
    assert august.customers[0].integrations[0].created_by == timeline.user.username


@pytest.mark.parametrize("text, expected", [("2026-03", Month(2026, 3)), (" 2026-12 ", Month(2026, 12))])
def test_month_parses_yyyy_mm(text, expected):
    assert Month.parse(text) == expected
    assert Month(2026, 12).next() == Month(2027, 1) and Month(2026, 1).previous() == Month(2025, 12)


@pytest.mark.parametrize("text", ["", "2026-13", "2026-00", "26-03", "2026/03", "march", "1999-12", "2026-3"])
def test_month_refuses_anything_else(text):
    with pytest.raises(ValueError):
        Month.parse(text)


def test_day_and_overlap_arithmetic_at_the_edges():
    assert billable_days(at("2026-03-01 00:00"), at("2026-03-02 00:00")) == 1      # midnight to midnight
    assert billable_days(at("2026-03-01 23:59"), at("2026-03-02 00:01")) == 2
    assert billable_days(at("2026-03-05 10:00"), at("2026-03-05 10:00")) == 1      # a single moment
    assert most_at_once([]) == 0
    assert most_at_once([(at("2026-03-01 00:00"), at("2026-03-02 00:00")),
                         (at("2026-03-02 00:00"), at("2026-03-03 00:00"))]) == 1
    assert most_at_once([(at("2026-03-01 00:00"), at("2026-03-05 00:00")),
                         (at("2026-03-02 00:00"), at("2026-03-03 00:00")),
                         (at("2026-03-02 12:00"), at("2026-03-02 12:00"))]) == 3
