"""AWS CloudTrail records (the JSON of one entry of a trail's ``Records``).

Fields are the record itself, nested as AWS writes it, so Sigma's dotted names
(``userIdentity.type``, ``requestParameters.bucketName``) resolve against it. Give
``eventName`` and ``eventSource`` (plus ``user`` — an IAM user name — or a whole
``userIdentity``); identity, ids, region, agent and TLS details are filled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from simulator.events import Event
from simulator.fill import guid, iso_s
from simulator.sensors.base import Logsource, Sensor, SensorContext
from simulator.sensors.windows import SensorInputError

if TYPE_CHECKING:
    from simulator.environment import CloudAccount, Host, IamUser

CLOUDTRAIL = Logsource(product="aws", service="cloudtrail")
FIELD_NAMES = frozenset(
    {
        "eventVersion",
        "userIdentity",
        "eventTime",
        "eventSource",
        "eventName",
        "awsRegion",
        "sourceIPAddress",
        "userAgent",
        "errorCode",
        "errorMessage",
        "requestParameters",
        "responseElements",
        "additionalEventData",
        "requestID",
        "eventID",
        "readOnly",
        "resources",
        "eventType",
        "managementEvent",
        "recipientAccountId",
        "eventCategory",
        "tlsDetails",
        "sharedEventID",
        "user",
        "account",
        "mfa",
    }
)
_READ_PREFIXES = ("Get", "List", "Describe", "Head", "Lookup", "Search")
_DATA_EVENTS = frozenset(
    {"GetObject", "PutObject", "DeleteObject", "HeadObject", "CopyObject"}
)
DEFAULT_AGENT = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22"


class CloudTrailSensor(Sensor):
    """Management and S3 data events of the organisation's AWS accounts."""

    id = "cloudtrail"
    kinds: ClassVar[dict[str, Logsource]] = {"api_call": CLOUDTRAIL}
    default_kind = "api_call"
    fields: ClassVar[dict[str, frozenset[str]]] = {"api_call": FIELD_NAMES}
    raw_format = "cloudtrail-json"

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
        if kind not in ("api_call", "default"):
            raise ValueError(f"cloudtrail has no kind {kind!r}; kinds: api_call")
        org = ctx.org
        if not org.cloud_accounts:
            raise SensorInputError("the organisation has no cloud account")
        g = values.get
        rng = ctx.rng
        account = _account(org.cloud_accounts, g("account"))
        name = str(g("eventName") or "DescribeInstances")
        source = str(g("eventSource") or "ec2.amazonaws.com")
        identity = g("userIdentity")
        if not isinstance(identity, dict):
            identity = _identity(account, g("user"), g("mfa"))
        console = name == "ConsoleLogin"
        data_event = name in _DATA_EVENTS
        record: dict[str, Any] = {
            "eventVersion": g("eventVersion") or "1.09",
            "userIdentity": identity,
            "eventTime": iso_s(ts),
            "eventSource": source,
            "eventName": name,
            "awsRegion": g("awsRegion")
            or (
                "us-east-1"
                if source in ("iam.amazonaws.com", "signin.amazonaws.com")
                else account.region
            ),
            "sourceIPAddress": g("sourceIPAddress") or org.egress_ip,
            "userAgent": g("userAgent")
            or (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"
                if console
                else DEFAULT_AGENT
            ),
        }
        if g("errorCode"):
            record["errorCode"] = g("errorCode")
            record["errorMessage"] = g("errorMessage") or "Access Denied"
        record["requestParameters"] = (
            g("requestParameters") if "requestParameters" in values else None
        )
        record["responseElements"] = (
            g("responseElements")
            if "responseElements" in values
            else ({"ConsoleLogin": "Success"} if console else None)
        )
        if console or "additionalEventData" in values:
            record["additionalEventData"] = g("additionalEventData") or {
                "LoginTo": "https://console.aws.amazon.com/console/home",
                "MobileVersion": "No",
                "MFAUsed": "Yes" if g("mfa") else "No",
            }
        record["requestID"] = g("requestID") or guid(rng)
        record["eventID"] = g("eventID") or guid(rng)
        record["readOnly"] = g("readOnly", name.startswith(_READ_PREFIXES))
        if "resources" in values:
            record["resources"] = g("resources")
        record["eventType"] = g("eventType") or (
            "AwsConsoleSignIn" if console else "AwsApiCall"
        )
        record["managementEvent"] = not data_event
        record["recipientAccountId"] = account.account_id
        if g("sharedEventID"):
            record["sharedEventID"] = g("sharedEventID")
        record["eventCategory"] = "Data" if data_event else "Management"
        if not console:
            record["tlsDetails"] = g("tlsDetails") or {
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": source
                if source != "s3.amazonaws.com"
                else f"{(g('requestParameters') or {}).get('bucketName', 's3')}"
                f".s3.{account.region}.amazonaws.com",
            }
        for k, v in values.items():
            if k not in record and k not in ("user", "account", "mfa"):
                record[k] = v
        raw = orjson.dumps(record).decode()
        return Event(
            uid,
            ts,
            self.id,
            "",
            CLOUDTRAIL.product,
            None,
            CLOUDTRAIL.service,
            record,
            raw,
        )


def _account(accounts: tuple[CloudAccount, ...], wanted: Any) -> CloudAccount:
    if wanted:
        for account in accounts:
            if wanted in (account.account_id, account.alias):
                return account
        raise SensorInputError(f"no cloud account {wanted!r}")
    return accounts[0]


def _identity(account: CloudAccount, user: Any, mfa: Any) -> dict[str, Any]:
    if user in ("root", "Root"):
        return {
            "type": "Root",
            "principalId": account.account_id,
            "arn": f"arn:aws:iam::{account.account_id}:root",
            "accountId": account.account_id,
        }
    iam: IamUser = account.iam_users[0]
    if user:
        found = [u for u in account.iam_users if u.user_name == str(user)]
        if not found:
            names = ", ".join(u.user_name for u in account.iam_users)
            raise SensorInputError(f"no IAM user {user!r}; users: {names}")
        iam = found[0]
    identity: dict[str, Any] = {
        "type": "IAMUser",
        "principalId": iam.principal_id,
        "arn": iam.arn,
        "accountId": account.account_id,
        "accessKeyId": iam.access_keys[0],
        "userName": iam.user_name,
    }
    if mfa:
        identity["sessionContext"] = {"attributes": {"mfaAuthenticated": "true"}}
    return identity
