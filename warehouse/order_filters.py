"""Filters other apps add to the outbound order list. The warehouse knows no marketplace: the
integrations app registers its "Integration" filter here when it starts (IntegrationsConfig.ready)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet

from .selectors import Scope


@dataclass(frozen=True)
class OrderListFilter:
    name: str                                                   # the query parameter
    label: str
    any_label: str                                              # the blank choice, e.g. "Any integration"
    choices: Callable[[Scope], list[tuple[str, str]]]          # only what this scope may see
    apply: Callable[[QuerySet, str], QuerySet]                 # value is one of choices(scope)


_FILTERS: dict[str, OrderListFilter] = {}


def register(order_filter: OrderListFilter) -> None:
    _FILTERS[order_filter.name] = order_filter


def registered() -> list[OrderListFilter]:
    return list(_FILTERS.values())
