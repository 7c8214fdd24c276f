"""Panels other apps add to the dashboard. The warehouse knows no marketplace: the integrations app
registers its health and confirmation panel here when it starts (IntegrationsConfig.ready)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .selectors import Scope


@dataclass(frozen=True)
class DashboardPanel:
    name: str
    template: str                              # included with `panel` = context(scope)
    context: Callable[[Scope], dict]


_PANELS: dict[str, DashboardPanel] = {}


def register(panel: DashboardPanel) -> None:
    _PANELS[panel.name] = panel


def panels_for(scope: Scope) -> list[tuple[str, dict]]:
    return [(p.template, p.context(scope)) for p in _PANELS.values()]
