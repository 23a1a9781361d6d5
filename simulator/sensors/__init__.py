"""The sensors: one module per log source, each a ``Sensor`` subclass.

``SENSORS`` maps a sensor id to its (stateless) instance; ``get_sensor`` looks one up
with a helpful error. Sensors import nothing outside ``simulator``.
"""

from __future__ import annotations

import difflib

from simulator.sensors.auditd import AuditdSensor
from simulator.sensors.base import Logsource, Sensor, SensorContext
from simulator.sensors.cloudtrail import CloudTrailSensor
from simulator.sensors.dns import DnsSensor
from simulator.sensors.edr import EdrSensor
from simulator.sensors.email_gateway import EmailGatewaySensor
from simulator.sensors.firewall import FirewallSensor
from simulator.sensors.idp_signin import IdpSigninSensor
from simulator.sensors.linux_auth import LinuxAuthSensor
from simulator.sensors.powershell import PowerShellSensor
from simulator.sensors.proxy import ProxySensor
from simulator.sensors.sysmon import SysmonSensor
from simulator.sensors.webserver import WebserverSensor
from simulator.sensors.windows import SensorInputError
from simulator.sensors.windows_security import WindowsSecuritySensor

SENSORS: dict[str, Sensor] = {
    sensor.id: sensor
    for sensor in (
        SysmonSensor(),
        WindowsSecuritySensor(),
        PowerShellSensor(),
        LinuxAuthSensor(),
        AuditdSensor(),
        FirewallSensor(),
        ProxySensor(),
        DnsSensor(),
        WebserverSensor(),
        CloudTrailSensor(),
        IdpSigninSensor(),
        EmailGatewaySensor(),
        EdrSensor(),
    )
}


def get_sensor(sensor_id: str) -> Sensor:
    """The sensor with this id; ``KeyError`` naming the closest known id otherwise."""
    try:
        return SENSORS[sensor_id]
    except KeyError:
        close = difflib.get_close_matches(sensor_id, list(SENSORS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"unknown sensor {sensor_id!r}{hint}") from None


__all__ = [
    "SENSORS",
    "Logsource",
    "Sensor",
    "SensorContext",
    "SensorInputError",
    "get_sensor",
]
