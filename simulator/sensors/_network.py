"""Helpers the network-appliance sensors share."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.environment import Host, Organisation
    from simulator.sensors.base import SensorContext

# Organisation identity -> (organisation, role -> device). The organisation is kept
# beside its devices so its id cannot be reused by another while the entry lives.
_DEVICES: dict[int, tuple[Organisation, dict[str, Host]]] = {}
_DEVICES_LIMIT = 64


def appliance(ctx: SensorContext, host: Host | None, role: str) -> Host:
    """The device that writes the log: the given host, else the org's appliance."""
    if host is not None:
        return host
    org = ctx.org
    entry = _DEVICES.get(id(org))
    if entry is None or entry[0] is not org:
        if len(_DEVICES) > _DEVICES_LIMIT:
            _DEVICES.clear()
        entry = _DEVICES[id(org)] = (org, {})
    devices = entry[1]
    device = devices.get(role)
    if device is None:  # looked up once per organisation and role
        device = devices[role] = org.appliance(role)
    return device
