"""Identity-provider sign-ins in the Entra ID (Azure AD) ``SigninLogs`` table shape.

SigmaHQ ``product: azure, service: signinlogs`` rules use these column names
(``ResultType``, ``ResultDescription``, ``Status``, ``AuthenticationRequirement``,
``RiskState``, ``DeviceDetail`` …). Give a user (``UserPrincipalName`` or ``user``),
an ``IPAddress`` and a ``ResultType``; the rest is filled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from simulator.environment import TIMEZONES
from simulator.events import Event
from simulator.fill import guid, iso_ms, sha256_of, stable_int
from simulator.sensors.base import Logsource, Sensor, SensorContext

if TYPE_CHECKING:
    from simulator.environment import Host

SIGNIN = Logsource(product="azure", service="signinlogs")
AUDIT = Logsource(product="azure", service="auditlogs")
RISK = Logsource(product="azure", service="riskdetection")
#: Identity Protection risk detections (the Graph ``riskDetection`` resource)
RISK_FIELDS = frozenset(
    {
        "id",
        "requestId",
        "correlationId",
        "riskEventType",
        "riskState",
        "riskLevel",
        "riskDetail",
        "source",
        "detectionTimingType",
        "activity",
        "tokenIssuerType",
        "ipAddress",
        "location",
        "activityDateTime",
        "detectedDateTime",
        "lastUpdatedDateTime",
        "userId",
        "userDisplayName",
        "userPrincipalName",
        "additionalInfo",
    }
)
AUDIT_FIELDS = frozenset(
    {
        "OperationName",
        "Category",
        "Result",
        "ResultReason",
        "UserPrincipalName",
        "InitiatedBy",
        "TargetResources",
        "LoggedByService",
        "ActivityDisplayName",
        "properties",
        "Status",
    }
)
RESULTS = {  # ResultType -> (ResultDescription, failure reason)
    "0": ("", "Other."),
    "50126": (
        "Invalid username or password or Invalid on-premise username or password.",
        "Invalid username or password.",
    ),
    "50053": (
        "Account is locked because user tried to sign in too many times with "
        "an incorrect user ID or password.",
        "Account is locked.",
    ),
    "50057": ("User account is disabled.", "User account is disabled."),
    "50074": (
        "Strong Authentication is required.",
        "Strong Authentication is required.",
    ),
    "50076": (
        "Due to a configuration change made by your administrator, or because "
        "you moved to a new location, you must use multi-factor "
        "authentication to access.",
        "MFA required.",
    ),
    "500121": (
        "Authentication failed during strong authentication request.",
        "Authentication failed during strong authentication request.",
    ),
    "53003": (
        "Access has been blocked by Conditional Access policies.",
        "Blocked by Conditional Access.",
    ),
    "50140": (
        "This error occurred due to 'Keep me signed in' interrupt when the "
        "user was signing in.",
        "Keep me signed in interrupt.",
    ),
}
FIELD_NAMES = frozenset(
    {
        "TimeGenerated",
        "Id",
        "CorrelationId",
        "UserPrincipalName",
        "UserDisplayName",
        "UserId",
        "AppDisplayName",
        "AppId",
        "ResourceDisplayName",
        "IPAddress",
        "Location",
        "LocationDetails",
        "ClientAppUsed",
        "UserAgent",
        "IsInteractive",
        "ResultType",
        "ResultDescription",
        "Status",
        "ConditionalAccessStatus",
        "AuthenticationRequirement",
        "DeviceDetail",
        "RiskLevelAggregated",
        "RiskLevelDuringSignIn",
        "RiskState",
        "RiskDetail",
        "RiskEventTypes_V2",
        "TokenIssuerType",
        "NetworkLocationDetails",
        "user",
        "Country",
        "City",
    }
)
_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0"
)


class IdpSigninSensor(Sensor):
    """Sign-ins to the organisation's identity tenant."""

    id = "idp_signin"
    kinds: ClassVar[dict[str, Logsource]] = {
        "signin": SIGNIN,
        "audit": AUDIT,
        "risk": RISK,
    }
    default_kind = "signin"
    fields: ClassVar[dict[str, frozenset[str]]] = {
        "signin": FIELD_NAMES,
        "audit": AUDIT_FIELDS,
        "risk": RISK_FIELDS,
    }
    raw_format = "json"

    def event(
        self,
        *,
        uid: str,
        ts: float,
        kind: str,
        host: Host | None,
        values: dict[str, Any],
        ctx: SensorContext,
    ) -> Event:
        if kind == "audit":
            return self._audit(uid, ts, values, ctx)
        if kind == "risk":
            return self._risk(uid, ts, values, ctx)
        if kind not in ("signin", "default"):
            raise ValueError(
                f"idp_signin has no kind {kind!r}; kinds: signin, audit, risk"
            )
        org = ctx.org
        g = values.get
        rng = ctx.rng
        upn = str(g("UserPrincipalName") or g("user") or org.users[0].upn)
        if "@" not in upn:
            upn = org.user(upn).upn
        person = next((u for u in org.users if u.upn.lower() == upn.lower()), None)
        result = str(g("ResultType", "0"))
        description, reason = RESULTS.get(result, ("", "Other."))
        app_name = str(g("AppDisplayName") or "Office 365 Exchange Online")
        app_id = next((a for n, a in org.idp.apps if n == app_name), None) or str(
            g("AppId") or guid(rng)
        )
        ip = str(g("IPAddress") or org.egress_ip)
        home = person.timezone if person else org.timezone
        city, country = TIMEZONES.get(home, ("Berlin", "DE"))
        country = str(g("Country") or g("Location") or country)
        city = str(g("City") or city)
        mfa = (
            result == "0"
            and g("AuthenticationRequirement") != "singleFactorAuthentication"
        )
        workstation = org.workstation_of(person) if person else None
        record: dict[str, Any] = {
            "TimeGenerated": iso_ms(ts),
            "Id": g("Id") or guid(rng),
            "CorrelationId": g("CorrelationId") or guid(rng),
            "UserPrincipalName": upn,
            "UserDisplayName": g("UserDisplayName") or (person.name if person else upn),
            "UserId": g("UserId") or _user_id(org.idp.tenant_id, upn),
            "AppDisplayName": app_name,
            "AppId": app_id,
            "ResourceDisplayName": g("ResourceDisplayName") or app_name,
            "IPAddress": ip,
            "Location": country,
            "LocationDetails": {
                "city": city,
                "state": "",
                "countryOrRegion": country,
                "geoCoordinates": {},
            },
            "ClientAppUsed": g("ClientAppUsed") or "Browser",
            "UserAgent": g("UserAgent") or _AGENT,
            "IsInteractive": bool(g("IsInteractive", True)),
            "ResultType": result,
            "ResultDescription": g("ResultDescription") or description,
            "Status": {
                "errorCode": int(result) if result.isdigit() else 0,
                "failureReason": reason,
                "additionalDetails": "MFA requirement satisfied by claim in the token"
                if mfa
                else "",
            },
            "ConditionalAccessStatus": g("ConditionalAccessStatus")
            or (
                "failure"
                if result == "53003"
                else "success"
                if result == "0"
                else "notApplied"
            ),
            "AuthenticationRequirement": g("AuthenticationRequirement")
            or ("multiFactorAuthentication" if mfa else "singleFactorAuthentication"),
            "DeviceDetail": g("DeviceDetail")
            or {
                "deviceId": _user_id("device", workstation.name) if workstation else "",
                "displayName": workstation.name if workstation else "",
                "operatingSystem": "Windows10" if workstation else "Linux",
                "browser": "Edge 124.0.0",
                "isCompliant": workstation is not None,
                "isManaged": workstation is not None,
                "trustType": "Hybrid Azure AD joined" if workstation else "",
            },
            "RiskLevelAggregated": g("RiskLevelAggregated") or "none",
            "RiskLevelDuringSignIn": g("RiskLevelDuringSignIn") or "none",
            "RiskState": g("RiskState") or "none",
            "RiskDetail": g("RiskDetail") or "none",
            "RiskEventTypes_V2": g("RiskEventTypes_V2") or [],
            "TokenIssuerType": "AzureAD",
            "NetworkLocationDetails": g("NetworkLocationDetails")
            or (
                [{"networkType": "trustedNamedLocation", "networkNames": ["Office"]}]
                if ip == org.egress_ip
                else []
            ),
        }
        for k, v in values.items():
            if k not in record and k not in ("user", "Country", "City"):
                record[k] = v
        raw = orjson.dumps(record).decode()
        return Event(
            uid, ts, self.id, "", SIGNIN.product, None, SIGNIN.service, record, raw
        )

    def _audit(
        self, uid: str, ts: float, values: dict[str, Any], ctx: SensorContext
    ) -> Event:
        """A directory audit record (Entra ``AuditLogs``): who changed what."""
        org = ctx.org
        g = values.get
        rng = ctx.rng
        operation = str(g("OperationName") or "Update user")
        target = str(g("UserPrincipalName") or org.users[0].upn)
        actor = str(g("InitiatedBy") or (org.admins[0].sam if org.admins else "admin"))
        actor_upn = actor if "@" in actor else f"{actor}@{org.email_domain}"
        result = str(g("Result") or "success")
        record: dict[str, Any] = {
            "TimeGenerated": iso_ms(ts),
            "Id": f"Directory_{guid(rng)}",
            "CorrelationId": guid(rng),
            "OperationName": operation,
            "ActivityDisplayName": operation,
            "Category": g("Category") or "UserManagement",
            "Result": result,
            "ResultReason": g("ResultReason") or "",
            "LoggedByService": g("LoggedByService") or "Core Directory",
            "InitiatedBy": {
                "user": {
                    "userPrincipalName": actor_upn,
                    "id": _user_id(org.idp.tenant_id, actor_upn),
                }
            },
            "TargetResources": [
                {
                    "type": "User",
                    "userPrincipalName": target,
                    "id": _user_id(org.idp.tenant_id, target),
                }
            ],
            "properties": {"message": operation},
        }
        for k, v in values.items():
            if k not in record and k not in ("UserPrincipalName",):
                record[k] = v
        raw = orjson.dumps(record).decode()
        return Event(
            uid, ts, self.id, "", AUDIT.product, None, AUDIT.service, record, raw
        )

    def _risk(
        self, uid: str, ts: float, values: dict[str, Any], ctx: SensorContext
    ) -> Event:
        """An Identity Protection risk detection: what made a sign-in risky.

        Real-time detections (``unfamiliarFeatures``, ``anonymizedIPAddress`` …) are
        written with the sign-in they flag; give the same user, address and the
        sign-in's ``CorrelationId`` to tie them together.
        """
        org = ctx.org
        g = values.get
        rng = ctx.rng
        upn = str(g("userPrincipalName") or g("user") or org.users[0].upn)
        if "@" not in upn:
            upn = org.user(upn).upn
        person = next((u for u in org.users if u.upn.lower() == upn.lower()), None)
        home = person.timezone if person else org.timezone
        city, country = TIMEZONES.get(home, ("Berlin", "DE"))
        when = iso_ms(ts)
        record: dict[str, Any] = {
            "id": g("id") or sha256_of("risk|" + uid),
            "requestId": g("requestId") or guid(rng),
            "correlationId": g("correlationId") or guid(rng),
            "riskEventType": g("riskEventType") or "unfamiliarFeatures",
            "riskState": g("riskState") or "atRisk",
            "riskLevel": g("riskLevel") or "medium",
            "riskDetail": g("riskDetail") or "none",
            "source": g("source") or "IdentityProtection",
            "detectionTimingType": g("detectionTimingType") or "realtime",
            "activity": g("activity") or "signin",
            "tokenIssuerType": "AzureAD",
            "ipAddress": str(g("ipAddress") or org.egress_ip),
            "location": g("location")
            or {
                "city": city,
                "state": "",
                "countryOrRegion": country,
                "geoCoordinates": {},
            },
            "activityDateTime": when,
            "detectedDateTime": when,
            "lastUpdatedDateTime": when,
            "userId": g("userId") or _user_id(org.idp.tenant_id, upn),
            "userDisplayName": g("userDisplayName") or (person.name if person else upn),
            "userPrincipalName": upn,
            "additionalInfo": g("additionalInfo")
            or orjson.dumps(
                [{"Key": "userAgent", "Value": _AGENT}, {"Key": "alertUrl"}]
            ).decode(),
        }
        for k, v in values.items():
            if k not in record and k != "user":
                record[k] = v
        raw = orjson.dumps(record).decode()
        return Event(
            uid, ts, self.id, "", RISK.product, None, RISK.service, record, raw
        )


def _user_id(*parts: str) -> str:
    h = f"{stable_int(*parts, bits=128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
