"""Helpers the network-appliance sensors share."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.environment import Host
    from simulator.sensors.base import SensorContext


def appliance(ctx: SensorContext, host: Host | None, role: str) -> Host:
    """The device that writes the log: the given host, else the org's appliance."""
    if host is not None:
        return host
    return ctx.org.memo(("appliance", role), lambda: ctx.org.appliance(role))
