"""What benign background activity looks like, per sensor and kind of host.

Each builder here returns a :class:`Mix` for one stream (a sensor on one host, or one
network appliance): weighted draws of ``(kind, values)`` that the sensor completes.
Values are picked from pools built once per stream, so a draw costs a few random
numbers and no string building beyond what the sensor does anyway.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from simulator.fill import stable_int
from simulator.sensors import catalogue

if TYPE_CHECKING:
    from simulator.environment import Host, Organisation, User

Draw = Callable[[random.Random, float], tuple[str, dict[str, Any]] | list[Any]]


class Mix:
    """Weighted choice among draws, by one table lookup (no bisect, no floats)."""

    __slots__ = ("pooled", "table")

    def __init__(self, entries: Sequence[tuple[float, Draw]], pooled: bool = False):
        """``pooled``: every draw returns one of a fixed set of value dicts (so the
        noise generator may compile each shape once)."""
        self.pooled = pooled
        entries = [(w, d) for w, d in entries if w > 0]
        total = sum(w for w, _ in entries)
        table: list[Draw] = []
        for weight, draw in entries:
            table += [draw] * max(1, round(1024 * weight / total))
        # Pad or trim to a power of two so one getrandbits call picks an entry.
        while len(table) < 1024:
            table.append(entries[0][1])
        self.table = table[:1024]

    def draw(self, rng: random.Random, ts: float):
        return self.table[rng.getrandbits(10)](rng, ts)


def pick(seq: Sequence[Any]) -> Callable[[random.Random], Any]:
    """A fast chooser for a fixed pool."""
    n = len(seq)
    if n == 1:
        only = seq[0]
        return lambda rng: only
    return lambda rng: seq[int(rng.random() * n)]


def _path(name: str) -> str:
    return catalogue.by_name(name).path


def _q(path: str) -> str:
    return f'"{path}"'


EXPLORER = _path("explorer.exe")
SVCHOST = _path("svchost.exe")
SERVICES = _path("services.exe")
CHROME = _path("chrome.exe")
EDGE = _path("msedge.exe")
POWERSHELL = _path("powershell.exe")
CMD = _path("cmd.exe")
MSMPENG = _path("MsMpEng.exe")
LSASS = _path("lsass.exe")
NOTEPAD = _path("notepad.exe")
# Office talks to Microsoft's services through the explicit web proxy, so on the
# endpoint its connections all go to the proxy's internal address.
OFFICE = frozenset(
    _path(a) for a in ("EXCEL.EXE", "WINWORD.EXE", "POWERPNT.EXE", "OUTLOOK.EXE")
)
# The explicit proxy listens on port 80, as cloud web gateways commonly do.
PROXY_PORTS = (80,)
_SVCHOST_GROUPS = (
    "-k netsvcs -p -s Schedule",
    "-k LocalService -p -s EventSystem",
    "-k NetworkService -p -s Dnscache",
    "-k LocalSystemNetworkRestricted -p -s SysMain",
    "-k wsappx -p -s AppXSvc",
    "-k UnistackSvcGroup",
    "-k netsvcs -p -s BITS",
    "-k LocalServiceNetworkRestricted -p -s WinHttpAutoProxySvc",
    "-k DcomLaunch -p -s LSM",
    "-k netsvcs -p -s wuauserv",
)
_USER_APPS = {
    "default": (
        "msedge.exe",
        "chrome.exe",
        "OUTLOOK.EXE",
        "ms-teams.exe",
        "OneDrive.exe",
        "EXCEL.EXE",
        "WINWORD.EXE",
        "POWERPNT.EXE",
        "notepad.exe",
    ),
    "Engineering": ("Code.exe", "git.exe", "python.exe", "pwsh.exe", "chrome.exe"),
    "IT": ("mmc.exe", "mstsc.exe", "powershell.exe", "cmd.exe", "msedge.exe"),
    "Finance": ("EXCEL.EXE", "EXCEL.EXE"),
}
_REGISTRY = (
    (
        "HKU\\{sid}\\Software\\Microsoft\\Office\\16.0\\Common\\Roaming\\Identities\\"
        "LastUpdated",
        "QWORD (0x{hex8}-0x{hex4})",
    ),
    (
        "HKU\\{sid}\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\"
        "UserAssist\\{{CEBFF5CD-ACE2-4F4F-9178-9926F41749EA}}\\Count\\HRZR_PGYFRFFVBA",
        "Binary Data",
    ),
    (
        "HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Signature Updates\\"
        "SignaturesLastUpdated",
        "Binary Data",
    ),
    (
        "HKLM\\System\\CurrentControlSet\\Services\\bam\\State\\UserSettings\\{sid}\\"
        "\\Device\\HarddiskVolume3\\Windows\\explorer.exe",
        "Binary Data",
    ),
    (
        "HKU\\{sid}\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\"
        "ZoneMap\\ProxyBypass",
        "DWORD (0x00000001)",
    ),
    (
        "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\"
        "Auto Update\\"
        "LastOnlineScanTimeForAppCategory\\{{{hex8}-{hex4}}}",
        "QWORD (0x{hex8}-0x{hex4})",
    ),
)
_PS_BENIGN = (
    "prompt",
    "{ Set-StrictMode -Version 1; $_.PSMessageDetails }",
    "{ Set-StrictMode -Version 1; $_.ErrorCategory_Message }",
    "{ Set-StrictMode -Version 1; $_.OriginInfo }",
    "$global:?",
    "Import-Module Microsoft.PowerShell.Utility",
)
_PS_ADMIN = (
    "Get-Service | Where-Object {$_.Status -eq 'Stopped' -and $_.StartType -eq "
    "'Automatic'}",
    "Get-ADUser -Filter {Enabled -eq $false} -Properties LastLogonDate | Select-Object "
    "Name,LastLogonDate",
    "Test-NetConnection -ComputerName {server} -Port 445",
    "Get-WinEvent -LogName System -MaxEvents 50 | Format-Table -AutoSize",
    "Get-ChildItem -Path \\\\{server}\\Shares -Directory | Measure-Object",
    "Invoke-Command -ComputerName {server} -ScriptBlock {{ Get-Volume }}",
)
_WEB_PAGES = (
    "/",
    "/index.html",
    "/about",
    "/products",
    "/contact",
    "/careers",
    "/news",
    "/blog/2026/02/roadmap",
    "/support/faq",
    "/login",
)
_WEB_ASSETS = (
    "/static/css/site.css",
    "/static/js/app.js",
    "/static/img/logo.png",
    "/favicon.ico",
    "/static/fonts/inter.woff2",
)
_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (compatible; ExampleBot/2.1; +http://bot.example.com/info)",
)
_OFFICE_SERVICES = (
    "outlook.office365.com",
    "officecdn.microsoft.com",
    "login.microsoftonline.com",
)
_OFFICE_AGENT = (
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)"
)
_MAILBOXES = ("news", "info", "sales", "noreply")
SVCHOST_SCHEDULE = "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule"
_SCAN_PORTS = (22, 23, 445, 3389, 8080, 5900, 1433, 3306, 25, 21)


def windows_users(org: Organisation, host: Host) -> tuple[User | None, str, str]:
    """(owner, DOMAIN\\user or SYSTEM, SID) of the person using a Windows host."""
    owner = org.user(host.owner) if host.owner else None
    if owner:
        return owner, owner.domain_user, owner.sid
    return None, "NT AUTHORITY\\SYSTEM", "S-1-5-18"


# --- Sysmon -------------------------------------------------------------------------


def sysmon_mix(org: Organisation, host: Host) -> Mix:
    """Process, network, image-load, file, registry and DNS activity of one host.

    Every draw returns one of a bounded pool of value dicts built here (a person's
    usual applications, sites, files and libraries), so the noise generator can
    compile each shape once and reuse it.
    """
    pool_rng = random.Random(stable_int("sysmon-pool", org.seed, host.name))
    owner, user, sid = windows_users(org, host)
    sam = owner.sam if owner else "Administrator"
    system = "NT AUTHORITY\\SYSTEM"
    apps = _USER_APPS["default"] + _USER_APPS.get(owner.department if owner else "", ())
    app_paths = sorted({_path(a) for a in apps})
    sites = org.external_sites
    dcs = org.hosts_where(kind="domain_controller")
    servers = org.hosts_where(kind="server") or dcs
    runner = user if owner else system

    def values(**kw: Any) -> dict[str, Any]:
        return kw

    user_procs = [
        values(Image=a, CommandLine=_q(a), ParentImage=EXPLORER, User=user)
        for a in app_paths
    ]
    browser_children = []
    for browser in (CHROME, EDGE):
        for kind in ("renderer", "gpu-process", "utility"):
            handle = stable_int(host.name, browser, kind, bits=32)
            browser_children.append(
                values(
                    Image=browser,
                    CommandLine=f'"{browser}" --type={kind} --lang=en-US '
                    f"--field-trial-handle={handle % 9000 + 1000},i,{handle}",
                    ParentImage=browser,
                    ParentCommandLine=_q(browser),
                    User=runner,
                )
            )
    services = [
        values(
            Image=SVCHOST,
            CommandLine="C:\\Windows\\system32\\svchost.exe " + group,
            ParentImage=SERVICES,
            User=account,
        )
        for group in _SVCHOST_GROUPS
        for account in (system, "NT AUTHORITY\\LOCAL SERVICE")
    ]
    system_procs = [
        values(
            Image=image,
            CommandLine=line,
            ParentImage=parent,
            User=system if n % 2 or owner is None else user,
        )
        for n, (image, line, parent) in enumerate(_SYSTEM_CHILDREN * 2)
    ]
    # Notepad makes no network connections in normal use; Office goes through the
    # proxy; browsers and the other apps reach their sites directly.
    online = [a for a in app_paths if a != NOTEPAD] or [SVCHOST]
    proxy = org.appliance("proxy")
    proxy_port = PROXY_PORTS[stable_int("proxy-port", org.seed) % len(PROXY_PORTS)]
    web = []
    for _ in range(16):
        site = pool_rng.choice(sites)
        image = pool_rng.choice(online) if owner else SVCHOST
        if image in OFFICE:
            web.append(
                values(
                    Image=image,
                    User=runner,
                    DestinationIp=proxy.ip,
                    DestinationHostname=proxy.fqdn,
                    DestinationPort=proxy_port,
                )
            )
            continue
        web.append(
            values(
                Image=image,
                User=runner,
                DestinationIp=site.ip,
                DestinationHostname=site.domain,
                DestinationPort=443 if pool_rng.random() < 0.9 else 80,
            )
        )
    # The Kerberos client is lsass; only domain controllers are KDCs (and answer LDAP).
    internal = [
        values(
            Image=LSASS if port == 88 else SVCHOST,
            User=system if port == 88 else "NT AUTHORITY\\NETWORK SERVICE",
            DestinationIp=t.ip,
            DestinationHostname=t.fqdn,
            DestinationPort=port,
        )
        for t in (dcs + servers)[:4]
        for port in (389, 88, 445)
        if port == 445 or t.kind == "domain_controller"
    ]
    loads = []
    for _ in range(24):
        image = (
            pool_rng.choice(app_paths) if owner and pool_rng.random() < 0.7 else SVCHOST
        )
        loads.append(
            values(
                Image=image,
                ImageLoaded=pool_rng.choice(catalogue.LIBRARIES).path,
                User=user if image != SVCHOST else system,
            )
        )
    files = []
    for n in range(16):
        r = pool_rng.random()
        if r < 0.4:
            target, image = (
                f"C:\\Users\\{sam}\\AppData\\Local\\Google\\Chrome\\"
                "User Data\\Default\\Cache\\Cache_Data\\"
                f"f_{pool_rng.getrandbits(20):06x}",
                CHROME,
            )
        elif r < 0.7:
            target, image = (
                f"C:\\Users\\{sam}\\AppData\\Local\\Microsoft\\Windows"
                "\\INetCache\\Content.Outlook\\"
                f"{pool_rng.getrandbits(32):08X}\\~WRS"
                f"{{{pool_rng.getrandbits(32):08X}}}.tmp",
                _path("OUTLOOK.EXE"),
            )
        elif r < 0.85:
            target, image = (f"C:\\Users\\{sam}\\Downloads\\report-{n}.pdf", EDGE)
        else:
            target, image = (
                f"C:\\Windows\\Temp\\MpCmdRun-{n:04X}.log",
                _path("MpCmdRun.exe"),
            )
        files.append(
            values(
                Image=image,
                TargetFilename=target,
                User=system if image.endswith("MpCmdRun.exe") else runner,
            )
        )
    registry = []
    for key, details in _REGISTRY * 2:
        h8, h4 = f"{pool_rng.getrandbits(32):08X}", f"{pool_rng.getrandbits(16):04X}"
        key = key.replace("{sid}", sid).replace("{hex8}", h8).replace("{hex4}", h4)
        key = key.replace("{{", "{").replace("}}", "}")
        details = details.replace("{hex8}", h8).replace("{hex4}", h4)
        image = EXPLORER if key.startswith("HKU") else SVCHOST
        registry.append(
            values(
                Image=image,
                TargetObject=key,
                Details=details,
                User=runner if image == EXPLORER else system,
            )
        )
    direct = [a for a in online if a not in OFFICE] or [SVCHOST]
    lookups = [
        values(
            Image=pool_rng.choice(direct) if owner else SVCHOST,
            QueryName=site.domain,
            QueryResults=f"::ffff:{site.ip};",
            User=runner,
        )
        for site in pool_rng.sample(sites, 12)
    ]
    lookups += [
        values(
            Image=image,
            QueryName=proxy.fqdn,
            QueryResults=f"::ffff:{proxy.ip};",
            User=runner,
        )
        for image in (sorted(OFFICE.intersection(app_paths)) if owner else ())
    ]
    lookups += [
        values(
            Image=SVCHOST,
            QueryName=h.fqdn,
            QueryResults=f"::ffff:{h.ip};",
            User="NT AUTHORITY\\NETWORK SERVICE",
        )
        for h in (servers + dcs)[:4]
    ]
    scans = [
        values(
            SourceImage=MSMPENG,
            TargetImage=a,
            GrantedAccess="0x1000",
            SourceUser=system,
        )
        for a in (app_paths if owner else [SVCHOST])
    ]
    # Defender scanning lsass is a classic false positive of credential-dumping rules.
    scans.append(
        values(
            SourceImage=MSMPENG,
            TargetImage=LSASS,
            GrantedAccess="0x101000",
            SourceUser=system,
        )
    )

    def choose(kind: str, pool: list[dict[str, Any]]) -> Draw:
        n = len(pool)
        return lambda rng, ts: (kind, pool[int(rng.random() * n)])

    user_weight = 1.0 if owner else 0.2
    return Mix(
        [
            (0.005 * user_weight, choose("process_creation", user_procs)),
            (0.02 * user_weight, choose("process_creation", browser_children)),
            (0.01, choose("process_creation", services)),
            (0.015, choose("process_creation", system_procs)),
            (0.20 * user_weight + 0.05, choose("network_connection", web)),
            (0.10, choose("network_connection", internal)),
            (0.30, choose("image_load", loads)),
            (0.10, choose("file_event", files)),
            (0.10, choose("registry_set", registry)),
            (0.08, choose("dns_query", lookups)),
            (0.02, choose("process_access", scans)),
        ],
        pooled=True,
    )


_SYSTEM_CHILDREN = (
    (_path("taskhostw.exe"), "taskhostw.exe", SVCHOST),
    (
        _path("backgroundTaskHost.exe"),
        _q(_path("backgroundTaskHost.exe"))
        + " -ServerName:BackgroundTaskHost.WebAccountProvider",
        SVCHOST,
    ),
    (
        _path("RuntimeBroker.exe"),
        "C:\\Windows\\System32\\RuntimeBroker.exe -Embedding",
        SVCHOST,
    ),
    (
        _path("dllhost.exe"),
        "C:\\Windows\\system32\\DllHost.exe /Processid:"
        "{AB8902B4-09CA-4BB6-B78D-A8F59079A8D5}",
        SVCHOST,
    ),
    (_path("wermgr.exe"), "C:\\Windows\\system32\\wermgr.exe -upload", SVCHOST),
    (
        _path("conhost.exe"),
        "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1",
        CMD,
    ),
    (_path("MpCmdRun.exe"), _q(_path("MpCmdRun.exe")) + " -wdenable", SVCHOST),
    (
        _path("SearchIndexer.exe"),
        "C:\\Windows\\system32\\SearchIndexer.exe /Embedding",
        SERVICES,
    ),
)


# --- Windows Security -----------------------------------------------------------


def security_mix(org: Organisation, host: Host) -> Mix:
    """Logons, logoffs, privileges, processes and (on DCs) Kerberos of one host.

    Like ``sysmon_mix``, draws come from pools of value dicts built once.
    """
    pool_rng = random.Random(stable_int("security-pool", org.seed, host.name))
    owner, _, _ = windows_users(org, host)
    people = [u for u in org.users if u.workstation] or list(org.users)
    servers = org.hosts_where(kind="server") or list(org.hosts)
    machine = host.name.upper() + "$"
    ips = {h.name: h.ip for h in org.hosts}

    def client_of(person: User) -> str:
        return ips.get(person.workstation or "", org.hosts[0].ip)

    regulars = [owner] * len(people) + people if owner else people
    logons = [
        {
            "EventID": 4624,
            "LogonType": 3,
            "TargetUserName": p.sam,
            "IpAddress": client_of(p),
        }
        for p in regulars
    ]
    logoffs = [
        {"EventID": 4634, "LogonType": 3, "TargetUserName": p.sam} for p in regulars
    ]
    service_logon = [{"EventID": 4624, "LogonType": 5, "TargetUserName": "SYSTEM"}]
    privileges = [{"EventID": 4672}]
    processes = [
        {
            "EventID": 4688,
            "NewProcessName": SVCHOST,
            "CommandLine": SVCHOST_SCHEDULE,
            "ParentProcessName": SERVICES,
            "SubjectUserName": machine,
        },
        {
            "EventID": 4688,
            "NewProcessName": _path("taskhostw.exe"),
            "CommandLine": "taskhostw.exe",
            "ParentProcessName": SVCHOST,
            "SubjectUserName": machine,
        },
    ]
    explicit = [
        {
            "EventID": 4648,
            "SubjectUserName": owner.sam if owner else machine,
            "TargetUserName": owner.sam if owner else account.sam,
            "TargetServerName": server.fqdn,
        }
        for server in servers[:4]
        for account in org.service_accounts[:2]
    ]
    unlocks = (
        [{"EventID": 4624, "LogonType": 7, "TargetUserName": owner.sam}]
        if owner
        else service_logon
    )
    tickets = [
        {"EventID": 4768, "TargetUserName": p.sam, "IpAddress": client_of(p)}
        for p in people
    ]
    services = [
        {
            "EventID": 4769,
            "TargetUserName": p.sam,
            "ServiceName": pool_rng.choice(servers).name.upper() + "$",
            "IpAddress": client_of(p),
        }
        for p in people
        for _ in range(3)
    ]
    ntlm = [
        {"EventID": 4776, "TargetUserName": p.sam, "Workstation": p.workstation or "-"}
        for p in people
    ]
    files = [
        {
            "EventID": 4663,
            "SubjectUserName": p.sam,
            "ObjectName": f"C:\\Shares\\{p.department}\\{folder}\\"
            f"doc-{pool_rng.getrandbits(10)}"
            ".docx",
            "ProcessName": "System",
            "ProcessId": "0x4",
        }
        for p in people[:20]
        for folder in ("Reports", "Projects")
    ]

    def choose(pool: list[dict[str, Any]]) -> Draw:
        n = len(pool)
        return lambda rng, ts: ("default", pool[int(rng.random() * n)])

    if host.kind == "domain_controller":
        return Mix(
            [
                (0.15, choose(tickets)),
                (0.35, choose(services)),
                (0.18, choose(logons)),
                (0.18, choose(logoffs)),
                (0.05, choose(privileges)),
                (0.06, choose(ntlm)),
                (0.03, choose(service_logon)),
            ],
            pooled=True,
        )
    if host.kind == "server":
        file_weight = 0.15 if host.role == "file" else 0.0
        return Mix(
            [
                (0.33, choose(logons)),
                (0.33, choose(logoffs)),
                (0.1, choose(privileges)),
                (0.08, choose(processes)),
                (0.06, choose(service_logon)),
                (file_weight, choose(files)),
                (0.02, choose(explicit)),
            ],
            pooled=True,
        )
    return Mix(
        [
            (0.25, choose(logons)),
            (0.28, choose(logoffs)),
            (0.15, choose(privileges)),
            (0.12, choose(service_logon)),
            (0.12, choose(processes)),
            (0.03, choose(explicit)),
            (0.05, choose(unlocks)),
        ],
        pooled=True,
    )


def powershell_mix(org: Organisation, host: Host) -> Mix:
    """Script blocks: PowerShell's own formatting helpers, and admins' scripts."""
    owner, user, _ = windows_users(org, host)
    admin = owner is None or owner.is_admin
    servers = org.hosts_where(kind="server") or list(org.hosts)
    pick_benign = pick(_PS_BENIGN)
    pick_admin = pick(_PS_ADMIN)
    pick_server = pick(servers)

    def benign(rng: random.Random, ts: float):
        return "ps_script", {"ScriptBlockText": pick_benign(rng), "User": user}

    def admin_script(rng: random.Random, ts: float):
        text = pick_admin(rng).replace("{server}", pick_server(rng).name)
        text = text.replace("{{", "{").replace("}}", "}")
        return "ps_script", {"ScriptBlockText": text, "User": user}

    return Mix([(0.85, benign), (0.15 if admin else 0.0, admin_script)])


# --- Linux ------------------------------------------------------------------------


def linux_auth_mix(org: Organisation, host: Host) -> Mix:
    """Automation logging in over SSH, admins using sudo, cron sessions."""
    admins = [u for u in org.users if u.is_admin and u.linux_uid] or [None]
    pick_admin = pick(admins)
    sources = [
        h for h in org.hosts if h.role in ("monitor", "bastion", "jump", "build")
    ] or list(org.hosts)[:1]
    pick_source = pick(sources)
    pick_command = pick(
        (
            "/usr/bin/systemctl status nginx",
            "/usr/bin/journalctl -u ssh --since today",
            "/usr/bin/apt list --upgradable",
            "/usr/bin/tail -n 100 /var/log/syslog",
            "/usr/bin/systemctl restart node-exporter",
        )
    )

    def ssh_automation(rng: random.Random, ts: float):
        user = ("ansible", "monitor", "deploy")[rng.getrandbits(8) % 3]
        source = pick_source(rng)
        return [
            (
                0.0,
                "sshd",
                {
                    "action": "accepted",
                    "user": user,
                    "src_ip": source.ip,
                    "method": "publickey",
                },
            ),
            (0.01, "sshd", {"action": "session_opened", "user": user, "uid": 1100}),
            (2.5, "sshd", {"action": "session_closed", "user": user}),
        ]

    def sudo(rng: random.Random, ts: float):
        admin = pick_admin(rng)
        name = admin.sam if admin else "deploy"
        uid = admin.linux_uid if admin else 1001
        command = pick_command(rng)
        return [
            (
                0.0,
                "sudo",
                {"action": "command", "user": name, "command": command, "uid": uid},
            ),
            (0.01, "sudo", {"action": "session_opened", "user": name, "uid": uid}),
            (0.5, "sudo", {"action": "session_closed", "user": name}),
        ]

    def cron(rng: random.Random, ts: float):
        return [
            (0.0, "cron", {"action": "session_opened", "user": "root", "uid": 0}),
            (
                0.01,
                "cron",
                {
                    "action": "command",
                    "user": "root",
                    "command": "cd / && run-parts --report /etc/cron.hourly",
                },
            ),
            (0.2, "cron", {"action": "session_closed", "user": "root"}),
        ]

    return Mix([(0.45, ssh_automation), (0.15, sudo), (0.40, cron)])


_AUDIT_COMMANDS = (
    (["/usr/bin/df", "-h"], 0, "/"),
    (["/usr/bin/ps", "aux"], 0, "/"),
    (["/usr/sbin/logrotate", "/etc/logrotate.conf"], 0, "/"),
    (["/usr/bin/ss", "-tulpn"], 0, "/"),
    (["/usr/bin/uptime"], 0, "/"),
    (["/usr/bin/run-parts", "--report", "/etc/cron.hourly"], 0, "/"),
    (["/usr/bin/systemctl", "is-active", "nginx"], 0, "/"),
    (["/usr/bin/git", "pull", "--ff-only"], 1001, "/srv/app"),
    (["/usr/bin/python3", "/opt/exporter/collect.py", "--once"], 1100, "/opt/exporter"),
)


def auditd_mix(org: Organisation, host: Host) -> Mix:
    """Execs of cron jobs, agents and deploys (each exec is several records)."""
    pick_command = pick(_AUDIT_COMMANDS)

    def exec_(rng: random.Random, ts: float):
        args, uid, cwd = pick_command(rng)
        return "exec", {"args": args, "uid": uid, "cwd": cwd}

    return Mix([(1.0, exec_)])


# --- network edge -----------------------------------------------------------------


def firewall_mix(org: Organisation, host: Host) -> Mix:
    """Outbound web, DNS forwarding, published web, and the internet's scanning."""
    clients = [h for h in org.hosts if h.kind in ("workstation", "server")] or list(
        org.hosts
    )
    pick_client = pick(clients)
    pick_site = pick(org.external_sites)
    web = org.hosts_where(role="web") or list(org.hosts)[:1]
    pick_web = pick(web)
    resolver = org.appliance("dns")
    proxy = org.appliance("proxy")

    def outbound(rng: random.Random, ts: float):
        source = proxy if rng.random() < 0.7 else pick_client(rng)
        return "traffic", {
            "src_ip": source.ip,
            "dst_ip": pick_site(rng).ip,
            "dst_port": 443 if rng.random() < 0.92 else 80,
            "action": "accept",
        }

    def dns_forward(rng: random.Random, ts: float):
        return "traffic", {
            "src_ip": resolver.ip,
            "dst_ip": pick_site(rng).ip,
            "dst_port": 53,
            "protocol": "udp",
            "action": "accept",
        }

    def published(rng: random.Random, ts: float):
        return "traffic", {
            "src_ip": f"198.51.100.{rng.randint(2, 254)}",
            "dst_ip": pick_web(rng).ip,
            "dst_port": 443,
            "action": "accept",
        }

    def background_scan(rng: random.Random, ts: float):
        source = f"{('192.0.2.', '198.51.100.', '203.0.113.')[rng.getrandbits(8) % 3]}"
        return "traffic", {
            "src_ip": source + str(rng.randint(2, 254)),
            "dst_ip": org.egress_ip,
            "dst_port": _SCAN_PORTS[rng.getrandbits(8) % 10],
            "action": "deny",
        }

    return Mix(
        [
            (0.62, outbound),
            (0.15, dns_forward),
            (0.10, published),
            (0.13, background_scan),
        ]
    )


def proxy_mix(org: Organisation, host: Host) -> Mix:
    """People browsing, apps syncing and machines fetching updates."""
    people = [u for u in org.users if u.workstation]
    ips = {h.name: h.ip for h in org.hosts}
    pick_person = pick(people or list(org.users))
    pick_site = pick(org.external_sites)
    pick_agent = pick(_AGENTS[:4])
    # What Office on the desktops asks the proxy for: Microsoft's own services.
    microsoft = [
        s for s in org.external_sites if s.domain.endswith(_OFFICE_SERVICES)
    ] or list(org.external_sites)
    pick_microsoft = pick(microsoft)

    def browse(rng: random.Random, ts: float):
        person = pick_person(rng)
        site = pick_site(rng)
        client = ips.get(person.workstation or "", org.hosts[0].ip)
        if rng.random() < 0.75:
            return "access", {
                "cs-method": "CONNECT",
                "c-uri": f"{site.domain}:443",
                "c-ip": client,
                "cs-username": person.sam,
                "c-useragent": pick_agent(rng),
                "dst_ip": site.ip,
                "sc-bytes": 2000 + rng.getrandbits(18),
            }
        path = (
            "/",
            "/index.html",
            "/api/v1/items",
            "/assets/app.js",
            "/img/banner.jpg",
        )[rng.getrandbits(8) % 5]
        return "access", {
            "cs-method": "GET",
            "c-uri": f"http://{site.domain}{path}",
            "c-ip": client,
            "cs-username": person.sam,
            "c-useragent": pick_agent(rng),
            "dst_ip": site.ip,
        }

    def office(rng: random.Random, ts: float):
        person = pick_person(rng)
        site = pick_microsoft(rng)
        return "access", {
            "cs-method": "CONNECT",
            "c-uri": f"{site.domain}:443",
            "c-ip": ips.get(person.workstation or "", org.hosts[0].ip),
            "cs-username": person.sam,
            "c-useragent": _OFFICE_AGENT,
            "dst_ip": site.ip,
            "sc-bytes": 1500 + rng.getrandbits(16),
        }

    def update(rng: random.Random, ts: float):
        host_ = org.hosts[rng.getrandbits(16) % len(org.hosts)]
        return "access", {
            "cs-method": "GET",
            "c-uri": "http://download."
            f"windowsupdate.com/c/msdownload/update/software/secu/2026/"
            f"02/windows11.0-kb50{rng.getrandbits(16):05d}-x64.cab",
            "c-ip": host_.ip,
            "c-useragent": "Microsoft-Delivery-Optimization/10.0",
            "sc-bytes": 1_000_000 + rng.getrandbits(22),
        }

    def denied(rng: random.Random, ts: float):
        person = pick_person(rng)
        return "access", {
            "cs-method": "GET",
            "c-uri": "http://games.example.net/play",
            "c-ip": ips.get(person.workstation or "", org.hosts[0].ip),
            "cs-username": person.sam,
            "sc-status": 403,
            "sc-bytes": 3921,
            "c-useragent": pick_agent(rng),
        }

    return Mix([(0.75, browse), (0.15, office), (0.07, update), (0.03, denied)])


def dns_mix(org: Organisation, host: Host) -> Mix:
    """Clients resolving internal and public names through the resolver."""
    clients = [h for h in org.hosts if h.is_windows] or list(org.hosts)
    pick_client = pick(clients)
    names = [s.domain for s in org.external_sites] + [
        h.fqdn for h in org.hosts if h.kind != "workstation"
    ]
    pick_name = pick(names)
    srv = f"_ldap._tcp.dc._msdcs.{org.dns_domain}"

    def query(rng: random.Random, ts: float):
        r = rng.random()
        if r < 0.08:
            return "query", {
                "query": srv,
                "record_type": "SRV",
                "src_ip": pick_client(rng).ip,
            }
        return "query", {
            "query": pick_name(rng),
            "record_type": "A" if r < 0.8 else "AAAA",
            "src_ip": pick_client(rng).ip,
        }

    return Mix([(1.0, query)])


def webserver_mix(org: Organisation, host: Host) -> Mix:
    """Visitors, bots and monitoring on a web server."""
    monitor = org.hosts_where(role="monitor")
    monitor_ip = monitor[0].ip if monitor else org.hosts[0].ip
    pick_page = pick(_WEB_PAGES)
    pick_asset = pick(_WEB_ASSETS)
    pick_agent = pick(_AGENTS)

    def visitor_ip(rng: random.Random) -> str:
        nets = ("192.0.2.", "198.51.100.", "203.0.113.")
        return nets[rng.getrandbits(8) % 3] + str(rng.randint(2, 254))

    def page(rng: random.Random, ts: float):
        return "access", {
            "c-ip": visitor_ip(rng),
            "cs-uri": pick_page(rng),
            "cs-user-agent": pick_agent(rng),
            "cs-referer": "-" if rng.random() < 0.5 else f"https://{host.fqdn}/",
        }

    def asset(rng: random.Random, ts: float):
        return "access", {
            "c-ip": visitor_ip(rng),
            "cs-uri": pick_asset(rng),
            "cs-user-agent": pick_agent(rng),
            "cs-referer": f"https://{host.fqdn}/",
        }

    def health(rng: random.Random, ts: float):
        return "access", {
            "c-ip": monitor_ip,
            "cs-uri": "/healthz",
            "sc-bytes": 2,
            "cs-user-agent": "Prometheus/2.51.0",
        }

    def missing(rng: random.Random, ts: float):
        return "access", {
            "c-ip": visitor_ip(rng),
            "cs-uri": "/old/" + pick_page(rng).strip("/") + ".php",
            "sc-status": 404,
            "cs-user-agent": pick_agent(rng),
        }

    return Mix([(0.35, page), (0.45, asset), (0.12, health), (0.08, missing)])


def email_mix(org: Organisation, host: Host) -> Mix:
    """Newsletters, partners, colleagues and the odd spam message."""
    people = list(org.users)
    pick_person = pick(people)
    senders = [
        s.domain
        for s in org.external_sites
        if not s.domain.endswith(
            (
                "microsoft.com",
                "windowsupdate.com",
                "amazonaws.com",
                "digicert.com",
                "gstatic.com",
                "jsdelivr.net",
                "debian.org",
                "ubuntu.com",
            )
        )
    ]
    pick_sender = pick(senders)
    subjects = (
        "Weekly update",
        "Meeting notes",
        "Re: Project timeline",
        "Quarterly report",
        "Invitation: team sync",
        "Your order has shipped",
        "Re: Contract draft",
        "Newsletter — March edition",
    )
    pick_subject = pick(subjects)

    def inbound(rng: random.Random, ts: float):
        domain = pick_sender(rng)
        attachment = f"report-{rng.getrandbits(10)}.pdf" if rng.random() < 0.2 else ""
        return "message", {
            "sender": f"{_MAILBOXES[rng.getrandbits(8) % 4]}@{domain}",
            "recipient": pick_person(rng).email,
            "subject": pick_subject(rng),
            "attachment": attachment,
            "urls": [f"https://{domain}/"],
        }

    def internal(rng: random.Random, ts: float):
        a, b = pick_person(rng), pick_person(rng)
        return "message", {
            "sender": a.email,
            "recipient": b.email,
            "subject": pick_subject(rng),
        }

    def spam(rng: random.Random, ts: float):
        return "message", {
            "sender": f"promo{rng.getrandbits(12)}@deals.example.net",
            "recipient": pick_person(rng).email,
            "subject": "You have won a voucher",
            "verdict": "spam",
            "action": "junked",
            "spf": "softfail",
            "dmarc": "fail",
        }

    return Mix([(0.5, inbound), (0.4, internal), (0.1, spam)])


def cloudtrail_mix(org: Organisation, host: Host | None) -> Mix:
    """Automation describing and listing, backups writing, admins signing in."""
    account = org.cloud_accounts[0]
    people = [u.user_name for u in account.iam_users if u.owner]
    pick_person = pick(people or [account.iam_users[0].user_name])
    reads = (
        ("ec2.amazonaws.com", "DescribeInstances"),
        ("ec2.amazonaws.com", "DescribeSecurityGroups"),
        ("s3.amazonaws.com", "ListBuckets"),
        ("iam.amazonaws.com", "ListUsers"),
        ("cloudwatch.amazonaws.com", "GetMetricData"),
        ("sts.amazonaws.com", "GetCallerIdentity"),
    )
    pick_read = pick(reads)
    backups = account.buckets[1]

    def automation(rng: random.Random, ts: float):
        source, name = pick_read(rng)
        return "api_call", {
            "eventSource": source,
            "eventName": name,
            "user": "ci-deploy",
        }

    def backup(rng: random.Random, ts: float):
        key = f"nightly/{rng.getrandbits(20):05x}.tar.zst"
        return "api_call", {
            "eventSource": "s3.amazonaws.com",
            "eventName": "PutObject",
            "user": "svc-backup",
            "requestParameters": {
                "bucketName": backups,
                "Host": f"{backups}.s3.{account.region}.amazonaws.com",
                "key": key,
            },
            "resources": [
                {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{backups}/{key}"}
            ],
        }

    def person(rng: random.Random, ts: float):
        source, name = pick_read(rng)
        return "api_call", {
            "eventSource": source,
            "eventName": name,
            "user": pick_person(rng),
        }

    def console(rng: random.Random, ts: float):
        return "api_call", {
            "eventSource": "signin.amazonaws.com",
            "eventName": "ConsoleLogin",
            "user": pick_person(rng),
            "mfa": True,
        }

    return Mix([(0.6, automation), (0.1, backup), (0.27, person), (0.03, console)])


def idp_mix(org: Organisation, host: Host | None) -> Mix:
    """People signing in to mail, Teams and SharePoint; a few interrupts."""
    pick_person = pick(list(org.users))
    apps = [name for name, _ in org.idp.apps]
    pick_app = pick(apps[:3] + apps[:3] + apps[3:])

    def signin(rng: random.Random, ts: float):
        return "signin", {"user": pick_person(rng).upn, "AppDisplayName": pick_app(rng)}

    def interrupt(rng: random.Random, ts: float):
        return "signin", {
            "user": pick_person(rng).upn,
            "AppDisplayName": pick_app(rng),
            "ResultType": ("50140", "50074")[rng.getrandbits(1)],
        }

    return Mix([(0.93, signin), (0.07, interrupt)])


def edr_mix(org: Organisation, host: Host) -> Mix:
    """Low-severity detections an EDR raises on ordinary machines."""
    owner, _, _ = windows_users(org, host)

    def pua(rng: random.Random, ts: float):
        return "alert", {
            "title": "Potentially unwanted application detected",
            "severity": "low",
            "tactic": "Discovery",
            "techniques": ["T1046"],
            "action": "detected",
            "image": f"C:\\Users\\{owner.sam if owner else 'Public'}"
            "\\Downloads\\ipscan-setup.exe",
        }

    def script(rng: random.Random, ts: float):
        return "alert", {
            "title": "Suspicious PowerShell command line",
            "severity": "informational",
            "tactic": "Execution",
            "techniques": ["T1059.001"],
            "action": "detected",
            "image": POWERSHELL,
            "command_line": "powershell.exe "
            "-ExecutionPolicy Bypass -File C:\\ProgramData\\IT\\"
            "inventory.ps1",
        }

    return Mix([(0.5, pua), (0.5, script)])
