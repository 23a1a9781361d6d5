"""Every sensor's raw line parses with a standard parser for its native format."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import replace

import pytest

from simulator.sensors import SENSORS
from simulator.sensors.syslog import (
    cef,
    cef_header_escape,
    cef_value_escape,
    cef_values,
)
from simulator.sensors.webserver import _clean as clean
from simulator.sensors.webserver import _clean_all as clean_all

from .conftest import MONDAY

MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
# RFC 3164 §4.1: <PRI>TIMESTAMP HOSTNAME TAG[PID]: CONTENT (TAG alphanumeric, <= 32).
RFC3164 = re.compile(
    rf"^<(?P<pri>\d{{1,3}})>(?P<ts>(?:{MONTHS}) [ 1-3]\d \d\d:\d\d:\d\d) "
    r"(?P<host>[!-~]+) (?P<tag>[A-Za-z0-9_./-]{1,32})(?:\[(?P<pid>\d+)\])?:"
    r"(?P<msg>.*)$"
)
# RFC 5424 §6: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG].
RFC5424 = re.compile(
    r"^<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>[!-~]{1,255}) (?P<app>[!-~]{1,48}) "
    r"(?P<procid>[!-~]{1,128}) (?P<msgid>[!-~]{1,32}) (?P<sd>-|(?:\[[^\]]*\])+)"
    r"(?: (?P<msg>.*))?$"
)
COMBINED = re.compile(
    r"^(?P<ip>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<ts>[^\]]+)\] "
    r'"(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}) (?P<bytes>\d+|-) '
    r'"(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)"$'
)
SQUID = re.compile(
    r"^(?P<ts>\d+\.\d{3}) +(?P<elapsed>\d+) (?P<client>\S+) (?P<result>[A-Z_]+)/"
    r"(?P<status>\d{3}) (?P<bytes>\d+) (?P<method>[A-Z]+) (?P<url>\S+) (?P<user>\S+) "
    r'(?P<hier>[A-Z_]+)/(?P<peer>\S+) (?P<type>\S+) "(?P<agent>[^"]*)"$'
)
BIND = re.compile(
    r"^(?P<ts>\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d\.\d{3}) client @0x[0-9a-f]+ "
    r"(?P<ip>\S+)#(?P<port>\d+) \((?P<name>\S+)\): query: (?P<query>\S+) IN "
    r"(?P<type>[A-Z]+) (?P<flags>\S+) \((?P<server>\S+)\)$"
)
AUDIT = re.compile(
    r"^type=(?P<type>[A-Z_]+) msg=audit\((?P<ts>\d+\.\d{3}):"
    r"(?P<serial>\d+)\):(?P<body>.*)$"
)
AUDIT_FIELD = re.compile(r"""(\w+)=("[^"]*"|'[^']*'|\S+)""")


def parse_cef(text: str) -> tuple[list[str], dict[str, str]]:
    """Split a CEF record: seven header fields (``\\|`` escapes) and the extension."""
    assert text.startswith("CEF:")
    header: list[str] = []
    field, i = [], 4
    while len(header) < 7:
        c = text[i]
        if c == "\\" and text[i + 1] in "\\|":
            field.append(text[i + 1])
            i += 2
            continue
        if c == "|":
            header.append("".join(field))
            field = []
        else:
            field.append(c)
        i += 1
    extension = text[i:]
    pairs = re.split(r"(?<!\\) (?=[A-Za-z0-9_]+=)", extension)
    values = {}
    for pair in pairs:
        key, value = re.split(r"(?<!\\)=", pair, maxsplit=1)
        value = re.sub(
            r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m[1], m[1]), value
        )
        values[key] = value
    return header, values


def make(ctx, sensor_id, kind, host=None, **values):
    return SENSORS[sensor_id].event(
        uid="t", ts=MONDAY + 0.25, kind=kind, host=host, values=values, ctx=ctx
    )


@pytest.mark.parametrize(
    "action",
    [
        "accepted",
        "failed",
        "failed_invalid",
        "invalid_user",
        "session_opened",
        "max_auth",
    ],
)
def test_sshd_lines_are_rfc3164(ctx, linux, action):
    debian = replace(linux, os="Debian 12")
    event = make(
        ctx,
        "linux_auth",
        "sshd",
        debian,
        action=action,
        user="admin",
        src_ip="203.0.113.5",
    )
    m = RFC3164.match(event.raw)
    assert m, event.raw
    assert m["host"] == debian.name and m["tag"] == "sshd"
    assert int(m["pid"]) == event.fields["pid"]
    assert m["msg"].strip() == event.fields["message"]
    assert m["ts"] == "Mar  2 08:00:00"


def test_sudo_and_cron_lines_are_rfc3164(ctx, linux):
    linux = replace(linux, os="Ubuntu 22.04 LTS")
    sudo = make(
        ctx,
        "linux_auth",
        "sudo",
        linux,
        user="deploy",
        command="/usr/bin/cat /etc/shadow",
    )
    cron = make(ctx, "linux_auth", "cron", linux)
    assert RFC3164.match(sudo.raw)["tag"] == "sudo"
    assert "COMMAND=/usr/bin/cat /etc/shadow" in sudo.raw
    assert RFC3164.match(cron.raw)["tag"] == "CRON"


def test_rhel_family_hosts_forward_rfc5424(ctx, linux):
    rocky = replace(linux, os="Rocky Linux 9")
    event = make(ctx, "linux_auth", "sshd", rocky, action="accepted", user="deploy")
    m = RFC5424.match(event.raw)
    assert m, event.raw
    assert m["app"] == "sshd" and m["procid"] == str(event.fields["pid"])
    parsed = dt.datetime.fromisoformat(m["ts"].replace("Z", "+00:00"))
    assert parsed.timestamp() == pytest.approx(MONDAY + 0.25)


def test_firewall_cef_records_parse_and_match_fields(ctx):
    event = make(
        ctx,
        "firewall",
        "traffic",
        src_ip="203.0.113.9",
        dst_ip="10.10.4.10",
        dst_port=3389,
        action="deny",
    )
    m = RFC3164.match(event.raw)
    assert m and m["tag"] == "CEF"
    header, ext = parse_cef(event.raw[event.raw.index("CEF:") :])
    assert header[:3] == ["0", "ExampleNet", "EdgeFW"]
    assert ext["src"] == "203.0.113.9" and ext["dst"] == "10.10.4.10"
    assert ext["dpt"] == "3389" and ext["act"] == "deny"
    assert int(ext["rt"]) == int((MONDAY + 0.25) * 1000)
    assert event.fields["blocked"] == "true" and event.fields["direction"] == "inbound"


def test_cef_escapes_pipes_backslashes_equals_and_newlines():
    line = cef(
        "Ven|dor", "P\\r", "1", "9", "a|b", 3, [("msg", "x=1\\y\nz"), ("cs1", "plain")]
    )
    header, ext = parse_cef(line)
    assert header == ["0", "Ven|dor", "P\\r", "1", "9", "a|b", "3"]
    assert ext == {"msg": "x=1\\y\nz", "cs1": "plain"}
    assert cef_header_escape("a|b\\c") == "a\\|b\\\\c"
    assert cef_value_escape("k=v") == "k\\=v"


def test_netfilter_lines_are_kernel_syslog(ctx):
    event = make(
        ctx,
        "firewall",
        "netfilter",
        action="deny",
        src_ip="198.51.100.3",
        dst_ip="203.0.113.10",
        dst_port=22,
    )
    m = RFC3164.match(event.raw)
    assert m and m["tag"] == "kernel"
    assert "[UFW BLOCK]" in m["msg"] and "SRC=198.51.100.3" in m["msg"]
    assert "DPT=22" in m["msg"]


def test_proxy_lines_are_squid_native(ctx):
    event = make(
        ctx,
        "proxy",
        "access",
        **{
            "c-uri": "http://paste.example.org/raw/a?b=1",
            "cs-username": "jdoe",
            "c-ip": "10.10.16.12",
        },
    )
    m = SQUID.match(event.raw)
    assert m, event.raw
    f = event.fields
    assert m["url"] == f["c-uri"] and m["user"] == "jdoe" and m["client"] == f["c-ip"]
    assert f["cs-host"] == "paste.example.org" and f["c-uri-query"] == "b=1"
    assert int(m["status"]) == f["sc-status"] and m["agent"] == f["c-useragent"]
    assert m["ts"] == "1772438400.250"


def test_proxy_connect_tunnels_name_host_and_port(ctx):
    event = make(
        ctx,
        "proxy",
        "access",
        **{"cs-method": "CONNECT", "c-uri": "news.example.com:443"},
    )
    m = SQUID.match(event.raw)
    assert m["result"] == "TCP_TUNNEL" and m["method"] == "CONNECT"
    assert event.fields["cs-host"] == "news.example.com"


def test_dns_lines_are_bind_querylog(ctx, org):
    event = make(
        ctx,
        "dns",
        "query",
        query="update-cdn.test",
        record_type="AAAA",
        src_ip="10.10.16.12",
    )
    m = BIND.match(event.raw)
    assert m, event.raw
    assert m["query"] == "update-cdn.test" and m["type"] == "AAAA"
    assert m["server"] == org.appliance("dns").ip
    assert m["ts"] == "02-Mar-2026 08:00:00.250"


def test_webserver_lines_are_apache_combined_with_escaped_quotes(ctx):
    event = make(
        ctx,
        "webserver",
        "access",
        **{
            "cs-uri": '/search?q="x"',
            "sc-status": 404,
            "cs-user-agent": 'Agent "quoted" \\ v1',
            "c-ip": "203.0.113.7",
        },
    )
    m = COMBINED.match(event.raw)
    assert m, event.raw
    assert m["ip"] == "203.0.113.7" and m["status"] == "404"
    assert m["request"] == 'GET /search?q=\\"x\\" HTTP/1.1'
    assert m["agent"] == 'Agent \\"quoted\\" \\\\ v1'
    assert m["ts"] == "02/Mar/2026:08:00:00 +0000"
    f = event.fields
    assert f["cs-uri-stem"] == "/search" and f["cs-uri-query"] == 'q="x"'


def test_auditd_records_share_a_serial_and_hex_encode_odd_arguments(ctx, linux):
    records = SENSORS["auditd"].exec_records(
        uid="a", ts=MONDAY, host=linux, args=["curl", "-o", "/tmp/a b"], ctx=ctx
    )
    serials = set()
    for event in records:
        m = AUDIT.match(event.raw)
        assert m, event.raw
        serials.add(m["serial"])
        fields = dict(AUDIT_FIELD.findall(m["body"]))
        assert m["type"] == event.fields["type"]
        if m["type"] == "EXECVE":
            assert fields["a0"] == '"curl"'
            assert bytes.fromhex(fields["a2"]).decode() == "/tmp/a b"
            assert event.fields["a2"] == "/tmp/a b"
        if m["type"] == "PROCTITLE":
            assert bytes.fromhex(fields["proctitle"]).split(b"\0")[0] == b"curl"
    assert len(serials) == 1
    assert [e.fields["type"] for e in records] == [
        "SYSCALL",
        "EXECVE",
        "CWD",
        "PATH",
        "PROCTITLE",
    ]


@pytest.mark.parametrize(
    ("sensor_id", "kind", "values"),
    [
        (
            "cloudtrail",
            "api_call",
            {
                "eventName": "GetObject",
                "eventSource": "s3.amazonaws.com",
                "requestParameters": {"bucketName": "b", "key": "k"},
            },
        ),
        (
            "cloudtrail",
            "api_call",
            {
                "eventName": "ConsoleLogin",
                "eventSource": "signin.amazonaws.com",
                "user": "root",
            },
        ),
        ("idp_signin", "signin", {"ResultType": "50126", "IPAddress": "198.51.100.20"}),
        (
            "email_gateway",
            "message",
            {"sender": "billing@update-cdn.test", "attachment": "invoice.docm"},
        ),
    ],
)
def test_json_sensors_write_their_fields_as_the_raw_json(ctx, sensor_id, kind, values):
    event = make(ctx, sensor_id, kind, **values)
    assert json.loads(event.raw) == event.fields


def test_cloudtrail_keeps_user_identity_nested(ctx, org):
    event = make(
        ctx,
        "cloudtrail",
        "api_call",
        eventName="CreateAccessKey",
        eventSource="iam.amazonaws.com",
        requestParameters={"userName": "x"},
    )
    identity = event.fields["userIdentity"]
    assert identity["type"] == "IAMUser"
    assert identity["accessKeyId"].startswith("AKIAEXAMPLE")
    assert event.fields["recipientAccountId"] == org.cloud_accounts[0].account_id
    assert event.fields["eventTime"] == "2026-03-02T08:00:00Z"
    assert event.fields["readOnly"] is False


def test_signin_failures_carry_the_result_sigma_rules_read(ctx):
    f = make(ctx, "idp_signin", "signin", ResultType="50126").fields
    assert f["ResultType"] == "50126"
    assert f["Status"]["errorCode"] == 50126
    assert "Invalid username or password" in f["ResultDescription"]
    assert f["AuthenticationRequirement"] == "singleFactorAuthentication"


def test_edr_alerts_name_device_and_process(ctx, workstation):
    event = make(
        ctx,
        "edr",
        "alert",
        workstation,
        title="Encoded PowerShell",
        severity="high",
        techniques=["T1059.001"],
    )
    record = json.loads(event.raw)
    assert record["device"]["hostname"] == workstation.name
    assert record["severity"] == "high" and record["techniques"] == ["T1059.001"]
    with pytest.raises(ValueError, match="severity"):
        make(ctx, "edr", "alert", workstation, severity="apocalyptic")


def test_a_firewall_policy_change_is_a_cef_config_record(ctx):
    event = make(
        ctx,
        "firewall",
        "config",
        rule="soc-block-198.51.100.4",
        user="jdoe",
        message="jdoe added deny rule",
        dst_ip="198.51.100.4",
    )
    header, ext = parse_cef(event.raw[event.raw.index("CEF:") :])
    assert header[4:6] == ["200", "Policy changed"]
    assert ext["act"] == "config" and ext["suser"] == "jdoe"
    assert ext["dst"] == "198.51.100.4" and ext["msg"] == "jdoe added deny rule"
    assert event.fields["action"] == "config"


def test_directory_audit_records_name_actor_and_target(ctx, org):
    event = make(
        ctx,
        "idp_signin",
        "audit",
        OperationName="Revoke user sessions",
        UserPrincipalName=org.users[0].upn,
        InitiatedBy="jdoe",
    )
    record = json.loads(event.raw)
    assert (event.product, event.service) == ("azure", "auditlogs")
    assert record["OperationName"] == "Revoke user sessions"
    assert record["TargetResources"][0]["userPrincipalName"] == org.users[0].upn
    assert record["InitiatedBy"]["user"]["userPrincipalName"].startswith("jdoe@")


def test_a_proxy_denial_given_only_a_host_names_that_host(ctx):
    event = make(
        ctx, "proxy", "access", **{"cs-host": "update-cdn.test", "sc-status": 403}
    )
    m = SQUID.match(event.raw)
    assert m["result"] == "TCP_DENIED" and m["url"] == "http://update-cdn.test/"
    assert event.fields["cs-host"] == "update-cdn.test"


def test_cef_values_escape_each_value_as_the_single_escaper_does():
    texts = ("10.0.0.1", "a=b", "back\\slash", "two\nlines", "plain")
    assert cef_values(*texts) == tuple(cef_value_escape(t) for t in texts)
    assert cef_values("10.0.0.1", "tcp") == ("10.0.0.1", "tcp")


def test_combined_log_fields_are_quoted_as_one_by_one():
    texts = ('/a?q="x"', "-", "agent\\1", "bell\x07")
    assert clean_all(*texts) == tuple(clean(t) for t in texts)
    assert clean_all("/index.html", "-", "curl/8") == ("/index.html", "-", "curl/8")
