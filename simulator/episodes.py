"""Benign activity that looks suspicious: what trips naive rules in a real network.

An administrator's encoded PowerShell, the vulnerability scanner's nightly sweep, the
backup agent reading a share, people mistyping passwords, a developer's curl to a
paste site, scheduled tasks, software updates, IT using certutil and running
discovery commands. Each episode is planned per day from the seed, as a list of
``(ts, stream key, kind, values)`` items that the noise generator slots into the
streams of the hosts involved. Every address and name stays in reserved ranges.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from simulator.activity import CMD, EXPLORER, POWERSHELL, SVCHOST, _path
from simulator.environment import PASTE_SITE
from simulator.fill import stable_int
from simulator.rhythm import local_hour, local_time

if TYPE_CHECKING:
    from simulator.environment import Host, Organisation, User

Item = tuple[float, str, str, dict[str, Any]]
DAY = 86_400
SCANNER_AGENT = (
    "Mozilla/5.0 (compatible; VulnScanner/10.7; +https://scanner.example.test/agent)"
)
_PROBES = (
    "/.git/config",
    "/.env",
    "/admin/",
    "/phpinfo.php",
    "/server-status",
    "/wp-login.php",
    "/cgi-bin/test.cgi",
    "/backup.zip",
    "/.DS_Store",
    "/api/v1/debug",
    "/console",
    "/actuator/health",
)


def key(sensor: str, host: Host | str | None) -> str:
    """The stream key of a sensor on a host (``''`` for org-wide sources)."""
    return f"{sensor}|{host or ''}"


def encode_command(script: str) -> str:
    """``-EncodedCommand`` text: base64 of the UTF-16LE script, as PowerShell wants."""
    return base64.b64encode(script.encode("utf-16-le")).decode()


def _local_time(org: Organisation, tz: str, day: int, hour: float) -> float:
    return local_time(tz, day, hour)


def _workday(org: Organisation, day: int) -> bool:
    return local_hour(org.timezone, day * 24 + 12)[1] < 5


class Episodes:
    """Plans the day's benign-but-suspicious activity for an organisation."""

    def __init__(self, org: Organisation, seed: int, stream_keys: set[str]) -> None:
        self.org = org
        self.seed = seed
        self.keys = stream_keys
        self.admins = [u for u in org.users if u.is_admin and u.workstation]
        self.developers = [
            u for u in org.users if u.department == "Engineering" and u.workstation
        ]
        self.people = [u for u in org.users if u.workstation]
        self.windows = [h for h in org.hosts if h.is_windows]
        self.planners: dict[str, Callable[[random.Random, int], list[Item]]] = {
            "admin_encoded_powershell": self.admin_encoded_powershell,
            "vulnerability_scan": self.vulnerability_scan,
            "backup": self.backup,
            "typo_logons": self.typo_logons,
            "developer_paste": self.developer_paste,
            "scheduled_task": self.scheduled_task,
            "software_updates": self.software_updates,
            "certutil_by_it": self.certutil_by_it,
            "admin_discovery": self.admin_discovery,
        }

    def plan(self, day: int) -> list[Item]:
        """Every episode item of UTC ``day``, in time order."""
        items: list[Item] = []
        for name, planner in self.planners.items():
            rng = random.Random(stable_int(self.seed, "episode", name, day))
            items += planner(rng, day)
        items = [i for i in items if i[1] in self.keys]
        items.sort(key=lambda i: i[0])
        return items

    def _during_work(self, rng: random.Random, user: User, day: int) -> float:
        hour = rng.uniform(user.work_start + 0.5, user.work_end - 0.5)
        return _local_time(self.org, user.timezone, day, hour)

    # --- episodes ----------------------------------------------------------

    def admin_encoded_powershell(self, rng: random.Random, day: int) -> list[Item]:
        if not self.admins or not _workday(self.org, day):
            return []
        items: list[Item] = []
        servers = self.org.hosts_where(kind="server") or self.windows
        for admin in self.admins[:3]:
            for _ in range(rng.choice((0, 1, 1, 2))):
                ts = self._during_work(rng, admin, day)
                ws = admin.workstation
                server = rng.choice(servers)
                script = rng.choice(
                    (
                        f"Get-Service -ComputerName {server.name} -Name Spooler | "
                        "Restart-Service -Force",
                        f"Invoke-Command -ComputerName {server.name} -ScriptBlock "
                        "{ Get-HotFix | Sort-Object InstalledOn -Descending | "
                        "Select-Object -First 5 }",
                        "Get-LocalGroupMember -Group Administrators",
                    )
                )
                encoded = encode_command(script)
                line = f"powershell.exe -NoProfile -EncodedCommand {encoded}"
                values = {
                    "Image": POWERSHELL,
                    "CommandLine": line,
                    "ParentImage": CMD,
                    "User": admin.domain_user,
                    "IntegrityLevel": "High",
                }
                items += [
                    (ts, key("sysmon", ws), "process_creation", values),
                    (
                        ts + 0.01,
                        key("windows_security", ws),
                        "default",
                        {
                            "EventID": 4688,
                            "NewProcessName": POWERSHELL,
                            "CommandLine": line,
                            "ParentProcessName": CMD,
                            "SubjectUserName": admin.sam,
                            "TokenElevationType": "%%1937",
                            "MandatoryLabel": "S-1-16-12288",
                        },
                    ),
                    (
                        ts + 0.4,
                        key("powershell", ws),
                        "ps_script",
                        {"ScriptBlockText": script, "User": admin.domain_user},
                    ),
                    (
                        ts + 0.9,
                        key("sysmon", ws),
                        "network_connection",
                        {
                            "Image": POWERSHELL,
                            "User": admin.domain_user,
                            "DestinationIp": server.ip,
                            "DestinationHostname": server.fqdn,
                            "DestinationPort": 5985,
                        },
                    ),
                ]
        return items

    def vulnerability_scan(self, rng: random.Random, day: int) -> list[Item]:
        scanners = self.org.hosts_where(role="scanner")
        if not scanners:
            return []
        scanner = scanners[0]
        start = _local_time(self.org, self.org.timezone, day, 1.0) + rng.uniform(0, 900)
        items: list[Item] = []
        targets = self.windows[:80]
        for i, target in enumerate(targets):
            ts = start + i * rng.uniform(2.0, 6.0)
            for j, port in enumerate((445, 135, 3389)):
                items.append(
                    (
                        ts + j * 0.05,
                        key("sysmon", target),
                        "network_connection",
                        {
                            "Image": "System",
                            "User": "NT AUTHORITY\\SYSTEM",
                            "Initiated": "false",
                            "SourceIp": scanner.ip,
                            "SourceHostname": scanner.fqdn,
                            "DestinationIp": target.ip,
                            "DestinationHostname": target.fqdn,
                            "DestinationPort": port,
                        },
                    )
                )
            items.append(
                (
                    ts + 0.3,
                    key("windows_security", target),
                    "default",
                    {
                        "EventID": 4624,
                        "LogonType": 3,
                        "TargetUserName": "svc_scan",
                        "AuthenticationPackageName": "NTLM",
                        "IpAddress": scanner.ip,
                        "WorkstationName": scanner.name.upper(),
                    },
                )
            )
            if rng.random() < 0.15:  # default-credential checks fail loudly
                for n, guess in enumerate(("Administrator", "admin", "guest")):
                    items.append(
                        (
                            ts + 0.5 + n * 0.2,
                            key("windows_security", target),
                            "default",
                            {
                                "EventID": 4625,
                                "LogonType": 3,
                                "TargetUserName": guess,
                                "IpAddress": scanner.ip,
                                "WorkstationName": scanner.name.upper(),
                            },
                        )
                    )
            items.append(
                (
                    ts + 9.0,
                    key("windows_security", target),
                    "default",
                    {"EventID": 4634, "LogonType": 3, "TargetUserName": "svc_scan"},
                )
            )
        ts = start + len(targets) * 4.0
        for web in self.org.hosts_where(role="web"):
            for n, probe in enumerate(_PROBES):
                items.append(
                    (
                        ts + n * 0.7,
                        key("webserver", web),
                        "access",
                        {
                            "c-ip": scanner.ip,
                            "cs-uri": probe,
                            "cs-user-agent": SCANNER_AGENT,
                            "sc-status": 404 if n % 4 else 403,
                        },
                    )
                )
        for n, linux in enumerate(self.org.hosts_where(kind="linux")):
            if linux.name == scanner.name:
                continue
            at = ts + 30 + n * 5
            items += [
                (
                    at,
                    key("linux_auth", linux),
                    "sshd",
                    {"action": "accepted", "user": "svcscan", "src_ip": scanner.ip},
                ),
                (
                    at + 1,
                    key("linux_auth", linux),
                    "sudo",
                    {
                        "action": "command",
                        "user": "svcscan",
                        "uid": 1200,
                        "command": "/usr/bin/dpkg-query -W -f=${Package} ${Version}\\n",
                    },
                ),
            ]
        return items

    def backup(self, rng: random.Random, day: int) -> list[Item]:
        files = self.org.hosts_where(role="file")
        backups = self.org.hosts_where(role="backup")
        if not files or not backups:
            return []
        file_server, backup_server = files[0], backups[0]
        start = _local_time(self.org, self.org.timezone, day, 23.0) + rng.uniform(
            0, 600
        )
        agent = _path("vkagent.exe")
        s, sec = key("sysmon", file_server), key("windows_security", file_server)
        items: list[Item] = [
            (
                start,
                sec,
                "default",
                {
                    "EventID": 4624,
                    "LogonType": 3,
                    "TargetUserName": "svc_backup",
                    "IpAddress": backup_server.ip,
                },
            ),
            (
                start + 0.01,
                sec,
                "default",
                {"EventID": 4672, "SubjectUserName": "svc_backup"},
            ),
            (
                start + 1,
                s,
                "process_creation",
                {
                    "Image": _path("vssadmin.exe"),
                    "CommandLine": "C:\\Windows\\system32\\vssadmin.exe list shadows",
                    "ParentImage": agent,
                    "User": "NT AUTHORITY\\SYSTEM",
                },
            ),
            (
                start + 2,
                s,
                "network_connection",
                {
                    "Image": agent,
                    "User": "NT AUTHORITY\\SYSTEM",
                    "DestinationIp": backup_server.ip,
                    "DestinationHostname": backup_server.fqdn,
                    "DestinationPort": 8400,
                },
            ),
        ]
        departments = sorted({u.department for u in self.org.users})
        for n in range(rng.randint(300, 500)):
            department = departments[n % len(departments)]
            items.append(
                (
                    start + 5 + n * rng.uniform(1.0, 3.0),
                    sec,
                    "default",
                    {
                        "EventID": 4663,
                        "SubjectUserName": "svc_backup",
                        "ObjectName": f"C:\\Shares\\{department}\\Archive\\"
                        f"{2020 + n % 6}\\file-{n:05d}.xlsx",
                        "ProcessName": agent,
                        "AccessMask": "0x1",
                    },
                )
            )
        return items

    def typo_logons(self, rng: random.Random, day: int) -> list[Item]:
        if not _workday(self.org, day):
            return []
        items: list[Item] = []
        for person in self.people:
            if rng.random() < 0.2:
                ts = _local_time(
                    self.org,
                    person.timezone,
                    day,
                    person.work_start + rng.uniform(0, 0.8),
                )
                ws = person.workstation
                sec = key("windows_security", ws)
                items += [
                    (
                        ts,
                        sec,
                        "default",
                        {
                            "EventID": 4625,
                            "LogonType": 2,
                            "TargetUserName": person.sam,
                            "SubStatus": "0xc000006a",
                        },
                    ),
                    (
                        ts + rng.uniform(4, 20),
                        sec,
                        "default",
                        {"EventID": 4624, "LogonType": 2, "TargetUserName": person.sam},
                    ),
                ]
            if rng.random() < 0.08:
                ts = self._during_work(rng, person, day)
                items += [
                    (
                        ts,
                        key("idp_signin", ""),
                        "signin",
                        {"user": person.upn, "ResultType": "50126"},
                    ),
                    (
                        ts + rng.uniform(8, 40),
                        key("idp_signin", ""),
                        "signin",
                        {"user": person.upn, "ResultType": "0"},
                    ),
                ]
        return items

    def developer_paste(self, rng: random.Random, day: int) -> list[Item]:
        if not _workday(self.org, day):
            return []
        site = next(
            (s for s in self.org.external_sites if s.domain == PASTE_SITE), None
        )
        if site is None:
            return []
        proxy_key = key("proxy", self.org.appliance("proxy"))
        items: list[Item] = []
        curl = _path("curl.exe")
        for dev in self.developers[:4]:
            for _ in range(rng.choice((0, 0, 1, 2))):
                ts = self._during_work(rng, dev, day)
                ws = self.org.host(dev.workstation or "")
                paste = f"{rng.getrandbits(40):010x}"
                line = f"curl.exe -s https://{PASTE_SITE}/raw/{paste} -o snippet.txt"
                items += [
                    (
                        ts,
                        key("sysmon", ws),
                        "process_creation",
                        {
                            "Image": curl,
                            "CommandLine": line,
                            "ParentImage": _path("pwsh.exe"),
                            "User": dev.domain_user,
                            "CurrentDirectory": f"C:\\Users\\{dev.sam}\\src\\",
                        },
                    ),
                    (
                        ts + 0.05,
                        key("sysmon", ws),
                        "dns_query",
                        {
                            "Image": curl,
                            "QueryName": PASTE_SITE,
                            "User": dev.domain_user,
                            "QueryResults": f"::ffff:{site.ip};",
                        },
                    ),
                    (
                        ts + 0.1,
                        key("sysmon", ws),
                        "network_connection",
                        {
                            "Image": curl,
                            "User": dev.domain_user,
                            "DestinationIp": site.ip,
                            "DestinationHostname": PASTE_SITE,
                            "DestinationPort": 443,
                        },
                    ),
                    (
                        ts + 0.6,
                        proxy_key,
                        "access",
                        {
                            "cs-method": "CONNECT",
                            "c-uri": f"{PASTE_SITE}:443",
                            "c-ip": ws.ip,
                            "cs-username": dev.sam,
                            "dst_ip": site.ip,
                            "c-useragent": "curl/8.4.0",
                        },
                    ),
                ]
        return items

    def scheduled_task(self, rng: random.Random, day: int) -> list[Item]:
        if not self.admins or rng.random() > 0.35:
            return []
        admin = rng.choice(self.admins)
        servers = self.org.hosts_where(kind="server") or self.windows
        target = rng.choice(servers)
        ts = self._during_work(rng, admin, day)
        name = rng.choice(
            ("\\IT\\Cleanup Temp", "\\IT\\Rotate IIS Logs", "\\IT\\Inventory Report")
        )
        action = "C:\\Windows\\System32\\cleanmgr.exe /sagerun:1"
        line = (
            f'schtasks.exe /Create /TN "{name}" /TR "{action}" /SC WEEKLY /D SUN '
            "/ST 03:00 /RU SYSTEM /F"
        )
        return [
            (
                ts,
                key("sysmon", target),
                "process_creation",
                {
                    "Image": _path("schtasks.exe"),
                    "CommandLine": line,
                    "ParentImage": CMD,
                    "User": admin.domain_user,
                    "IntegrityLevel": "High",
                },
            ),
            (
                ts + 0.2,
                key("windows_security", target),
                "default",
                {
                    "EventID": 4698,
                    "SubjectUserName": admin.sam,
                    "TaskName": name,
                    "Command": action.split(" ")[0],
                },
            ),
        ]

    def software_updates(self, rng: random.Random, day: int) -> list[Item]:
        items: list[Item] = []
        proxy_key = key("proxy", self.org.appliance("proxy"))
        for host in self.windows:
            if rng.random() > 0.3:
                continue
            ts = _local_time(
                self.org,
                self.org.timezone,
                day,
                rng.uniform(3.0, 5.0)
                if host.kind != "workstation"
                else rng.uniform(12.0, 14.0),
            )
            kb = f"KB50{rng.getrandbits(16):05d}"
            items += [
                (
                    ts,
                    key("sysmon", host),
                    "process_creation",
                    {
                        "Image": _path("MoUsoCoreWorker.exe"),
                        "CommandLine": "C:\\Windows\\System32\\mousocoreworker.exe "
                        "-Embedding",
                        "ParentImage": SVCHOST,
                        "User": "NT AUTHORITY\\SYSTEM",
                    },
                ),
                (
                    ts + 40,
                    key("sysmon", host),
                    "process_creation",
                    {
                        "Image": _path("TiWorker.exe"),
                        "CommandLine": "C:\\Windows\\winsxs\\"
                        "amd64_microsoft-windows-servicingstack\\"
                        "TiWorker.exe -Embedding",
                        "ParentImage": SVCHOST,
                        "User": "NT AUTHORITY\\SYSTEM",
                    },
                ),
                (
                    ts + 45,
                    proxy_key,
                    "access",
                    {
                        "cs-method": "GET",
                        "c-uri": "http://download.windowsupdate.com/d/"
                        f"msdownload/update/software/secu/2026/02/{kb.lower()}-x64.msu",
                        "c-ip": host.ip,
                        "c-useragent": "Windows-Update-Agent/10.0.10011.16384"
                        " Client-Protocol/2.71",
                        "sc-bytes": 40_000_000 + rng.getrandbits(24),
                    },
                ),
                (
                    ts + 300,
                    key("sysmon", host),
                    "process_creation",
                    {
                        "Image": _path("msiexec.exe"),
                        "CommandLine": "C:\\Windows\\system32\\msiexec.exe /V",
                        "ParentImage": _path("services.exe"),
                        "User": "NT AUTHORITY\\SYSTEM",
                    },
                ),
            ]
        for host in self.org.hosts_where(kind="linux"):
            ts = _local_time(self.org, self.org.timezone, day, 6.0) + rng.uniform(
                0, 1800
            )
            items += [
                (
                    ts,
                    key("auditd", host),
                    "exec",
                    {
                        "args": ["/usr/bin/apt-get", "-qq", "update"],
                        "uid": 0,
                        "cwd": "/",
                    },
                ),
                (
                    ts + 2,
                    proxy_key,
                    "access",
                    {
                        "cs-method": "GET",
                        "c-uri": "http://mirror.corp.example.org/debian/dists/"
                        "bookworm-updates/InRelease",
                        "c-ip": host.ip,
                        "c-useragent": "Debian APT-HTTP/1.3 (2.6.1)",
                    },
                ),
                (
                    ts + 20,
                    key("auditd", host),
                    "exec",
                    {"args": ["/usr/bin/unattended-upgrade"], "uid": 0, "cwd": "/"},
                ),
            ]
        return items

    def certutil_by_it(self, rng: random.Random, day: int) -> list[Item]:
        if not self.admins or not _workday(self.org, day) or rng.random() > 0.6:
            return []
        admin = rng.choice(self.admins)
        ws = self.org.host(admin.workstation or "")
        ts = self._during_work(rng, admin, day)
        pki = f"pki.{self.org.dns_domain}"
        certutil = _path("certutil.exe")
        download = (
            f"certutil.exe -urlcache -split -f http://{pki}/crl/CorpRootCA.crl "
            "C:\\Windows\\Temp\\CorpRootCA.crl"
        )
        verify = "certutil.exe -hashfile C:\\Windows\\Temp\\CorpRootCA.crl SHA256"
        return [
            (
                ts,
                key("sysmon", ws),
                "process_creation",
                {
                    "Image": certutil,
                    "CommandLine": download,
                    "ParentImage": CMD,
                    "User": admin.domain_user,
                },
            ),
            (
                ts + 0.3,
                key("sysmon", ws),
                "file_event",
                {
                    "Image": certutil,
                    "TargetFilename": "C:\\Windows\\Temp\\CorpRootCA.crl",
                    "User": admin.domain_user,
                },
            ),
            (
                ts + 20,
                key("sysmon", ws),
                "process_creation",
                {
                    "Image": certutil,
                    "CommandLine": verify,
                    "ParentImage": CMD,
                    "User": admin.domain_user,
                },
            ),
        ]

    def admin_discovery(self, rng: random.Random, day: int) -> list[Item]:
        if not self.admins or not _workday(self.org, day) or rng.random() > 0.6:
            return []
        admin = rng.choice(self.admins)
        ws = self.org.host(admin.workstation or "")
        ts = self._during_work(rng, admin, day)
        s = key("sysmon", ws)
        domain = self.org.dns_domain
        commands = [
            ("whoami.exe", "whoami /all"),
            ("ipconfig.exe", "ipconfig /all"),
            ("net.exe", 'net group "Domain Admins" /domain'),
            ("nltest.exe", f"nltest /dclist:{domain}"),
        ]
        items: list[Item] = []
        for n, (name, line) in enumerate(commands):
            items.append(
                (
                    ts + n * rng.uniform(5, 40),
                    s,
                    "process_creation",
                    {
                        "Image": _path(name),
                        "CommandLine": line,
                        "ParentImage": CMD,
                        "User": admin.domain_user,
                    },
                )
            )
        items.append(
            (
                ts - 2,
                s,
                "process_creation",
                {
                    "Image": CMD,
                    "CommandLine": '"C:\\Windows\\system32\\cmd.exe"',
                    "ParentImage": EXPLORER,
                    "User": admin.domain_user,
                },
            )
        )
        return items
