"""Where other apps describe an order's outside world to the warehouse's pages and API.

The warehouse knows no marketplace: an app (integrations) registers a function that, for an order,
says what happened to each package outside the warehouse (e.g. "confirmed on Amazon") and what the
people dispatching it should know ("nothing is sent to Amazon: the integration is turned off").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import OutboundOrder


@dataclass(frozen=True)
class PackageStatus:
    label: str                       # "Confirmed", "Waiting for tracking", ...
    state: str                       # a short key for styling: waiting, pending, sent, confirmed, failed
    detail: str = ""                 # when, why
    action_url: str = ""             # a POST that retries it (e.g. Resend), for staff
    action_label: str = ""


@dataclass(frozen=True)
class OrderOutside:
    """What one app says about an order: per package id, and notices for the people handling it."""

    title: str                                               # "Amazon confirmation"
    packages: dict[int, PackageStatus] = field(default_factory=dict)
    notices: tuple[str, ...] = ()


_describers: list[Callable[[OutboundOrder], OrderOutside | None]] = []


def register_order_describer(describer: Callable[[OutboundOrder], OrderOutside | None]) -> None:
    if describer not in _describers:
        _describers.append(describer)


def order_outside(order: OutboundOrder) -> list[OrderOutside]:
    return [d for d in (describe(order) for describe in _describers) if d is not None]


def order_notices(order: OutboundOrder) -> list[str]:
    """Everything the registered apps want the people handling this order to know."""
    return [notice for outside in order_outside(order) for notice in outside.notices]
