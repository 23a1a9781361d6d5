"""A small catalogue of real Windows binaries and libraries, for plausible fill values.

When a scenario or the noise model names an image, the Windows sensors take its
OriginalFileName, Description, Product, Company and FileVersion from here, the way
Sysmon reads them from the file's version resource. Hashes are derived per path and
version (``simulator.fill.file_hashes``): stable for pivoting, never a real file's.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.fill import sysmon_hashes

MS_WINDOWS = "Microsoft® Windows® Operating System"
MS = "Microsoft Corporation"
# FileVersion of in-box binaries depends on the Windows build of the host.
_OS_BUILDS = {
    "Windows 11 Enterprise 23H2": "10.0.22621.3527",
    "Windows 11 Enterprise 22H2": "10.0.22621.2861",
    "Windows 10 Enterprise 22H2": "10.0.19041.4355",
    "Windows Server 2022 Standard": "10.0.20348.2402",
    "Windows Server 2019 Standard": "10.0.17763.5696",
}
_DEFAULT_BUILD = "10.0.22621.3527"
OS = "{os}"  # placeholder: the host's build, e.g. "10.0.22621.3527 (WinBuild…)"


@dataclass(frozen=True, slots=True)
class Binary:
    """What Windows' version resource says about one file."""

    path: str
    original: str
    description: str
    product: str
    company: str
    version: str  # OS placeholder for in-box files, else the product version
    signature: str = "Microsoft Windows"

    @property
    def name(self) -> str:
        return self.path.rsplit("\\", 1)[-1]


def _sys32(name: str, original: str, description: str) -> Binary:
    return Binary(
        f"C:\\Windows\\System32\\{name}", original, description, MS_WINDOWS, MS, OS
    )


BINARIES: tuple[Binary, ...] = (
    _sys32("cmd.exe", "Cmd.Exe", "Windows Command Processor"),
    Binary(
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "PowerShell.EXE",
        "Windows PowerShell",
        MS_WINDOWS,
        MS,
        OS,
    ),
    Binary(
        "C:\\Program Files\\PowerShell\\7\\pwsh.exe",
        "pwsh.dll",
        "pwsh",
        "PowerShell",
        MS,
        "7.4.2.500",
        "Microsoft Corporation",
    ),
    _sys32("svchost.exe", "svchost.exe", "Host Process for Windows Services"),
    _sys32("conhost.exe", "CONHOST.EXE", "Console Window Host"),
    _sys32("rundll32.exe", "RUNDLL32.EXE", "Windows host process (Rundll32)"),
    _sys32("taskhostw.exe", "taskhostw.exe", "Host Process for Windows Tasks"),
    Binary(
        "C:\\Windows\\explorer.exe",
        "EXPLORER.EXE",
        "Windows Explorer",
        MS_WINDOWS,
        MS,
        OS,
    ),
    _sys32("certutil.exe", "CertUtil.exe", "CertUtil.exe"),
    _sys32("schtasks.exe", "schtasks.exe", "Task Scheduler Configuration Tool"),
    _sys32("reg.exe", "reg.exe", "Registry Console Tool"),
    _sys32("net.exe", "net.exe", "Net Command"),
    _sys32("net1.exe", "net1.exe", "Net Command"),
    _sys32("whoami.exe", "whoami.exe", "whoami - displays logged on user information"),
    _sys32("nltest.exe", "nltestrk.exe", "Microsoft® Logon Server Test Utility"),
    _sys32("ipconfig.exe", "ipconfig.exe", "IP Configuration Utility"),
    _sys32("msiexec.exe", "msiexec.exe", "Windows® installer"),
    _sys32("wuauclt.exe", "wuauclt.exe", "Windows Update"),
    _sys32("curl.exe", "curl.exe", "The curl executable"),
    _sys32("bitsadmin.exe", "bitsadmin.exe", "BITS administration utility"),
    _sys32("wbem\\WmiPrvSE.exe", "Wmiprvse.exe", "WMI Provider Host"),
    _sys32(
        "SearchIndexer.exe", "SearchIndexer.exe", "Microsoft Windows Search Indexer"
    ),
    _sys32("backgroundTaskHost.exe", "backgroundTaskHost.exe", "Background Task Host"),
    _sys32("RuntimeBroker.exe", "RuntimeBroker.exe", "Runtime Broker"),
    _sys32("dllhost.exe", "dllhost.exe", "COM Surrogate"),
    _sys32("services.exe", "services.exe", "Services and Controller app"),
    _sys32("lsass.exe", "lsass.exe", "Local Security Authority Process"),
    _sys32("winlogon.exe", "WINLOGON.EXE", "Windows Logon Application"),
    _sys32("userinit.exe", "USERINIT.EXE", "Userinit Logon Application"),
    _sys32("mmc.exe", "MMC.EXE", "Microsoft Management Console"),
    _sys32("mstsc.exe", "mstsc.exe", "Remote Desktop Connection"),
    _sys32("notepad.exe", "NOTEPAD.EXE", "Notepad"),
    _sys32(
        "gpupdate.exe",
        "GPUpdate.exe",
        "Microsoft® Windows® Group Policy Update Utility",
    ),
    _sys32("wermgr.exe", "wermgr.exe", "Windows Problem Reporting"),
    _sys32("sc.exe", "sc.exe", "Service Control Manager Configuration Tool"),
    _sys32(
        "vssadmin.exe",
        "VSSADMIN.EXE",
        "Command Line Interface for Microsoft® Volume Shadow Copy Service ",
    ),
    _sys32("cleanmgr.exe", "CLEANMGR.EXE", "Disk Space Cleanup Manager for Windows"),
    _sys32(
        "WindowsPowerShell\\v1.0\\powershell_ise.exe",
        "powershell_ise.EXE",
        "Windows PowerShell ISE",
    ),
    _sys32("tasklist.exe", "tasklist.exe", "Lists the current running tasks"),
    _sys32("robocopy.exe", "robocopy.exe", "Microsoft® Robocopy"),
    _sys32("wevtutil.exe", "wevtutil.exe", "Eventing Command Line Utility"),
    _sys32("sihost.exe", "sihost.exe", "Shell Infrastructure Host"),
    _sys32("ctfmon.exe", "CTFMON.EXE", "CTF Loader"),
    _sys32("smartscreen.exe", "smartscreen.exe", "Windows Defender SmartScreen"),
    _sys32("TiWorker.exe", "TiWorker.exe", "Windows Modules Installer Worker"),
    _sys32("MoUsoCoreWorker.exe", "MoUsoCoreWorker.exe", "MoUSO Core Worker Process"),
    _sys32("inetsrv\\w3wp.exe", "w3wp.exe", "IIS Worker Process"),
    _sys32("spoolsv.exe", "spoolsv.exe", "Spooler SubSystem App"),
    _sys32("dsregcmd.exe", "dsregcmd.exe", "DSREG commandline tool"),
    Binary(
        "C:\\Program Files\\Windows Defender\\MpCmdRun.exe",
        "MpCmdRun.exe",
        "Microsoft Malware Protection Command Line Utility",
        MS_WINDOWS,
        MS,
        "4.18.24030.9",
    ),
    Binary(
        "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24030.9-0"
        "\\MsMpEng.exe",
        "MsMpEng.exe",
        "Antimalware Service Executable",
        MS_WINDOWS,
        MS,
        "4.18.24030.9",
    ),
    Binary(
        "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
        "msedge.exe",
        "Microsoft Edge",
        "Microsoft Edge",
        MS,
        "124.0.2478.80",
        "Microsoft Corporation",
    ),
    Binary(
        "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
        "chrome.exe",
        "Google Chrome",
        "Google Chrome",
        "Google LLC",
        "124.0.6367.91",
        "Google LLC",
    ),
    Binary(
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
        "WinWord.exe",
        "Microsoft Word",
        "Microsoft Office",
        MS,
        "16.0.17328.20184",
        "Microsoft Corporation",
    ),
    Binary(
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE",
        "Excel.exe",
        "Microsoft Excel",
        "Microsoft Office",
        MS,
        "16.0.17328.20184",
        "Microsoft Corporation",
    ),
    Binary(
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
        "Outlook.exe",
        "Microsoft Outlook",
        "Microsoft Office",
        MS,
        "16.0.17328.20184",
        "Microsoft Corporation",
    ),
    Binary(
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\POWERPNT.EXE",
        "POWERPNT.EXE",
        "Microsoft PowerPoint",
        "Microsoft Office",
        MS,
        "16.0.17328.20184",
        "Microsoft Corporation",
    ),
    Binary(
        "C:\\Program Files\\WindowsApps\\MSTeams_24102.2223.2870.9480_x64__"
        "8wekyb3d8bbwe\\ms-teams.exe",
        "msteams.exe",
        "Microsoft Teams",
        "Microsoft Teams",
        MS,
        "24102.2223.2870.9480",
        "Microsoft Corporation",
    ),
    Binary(
        "C:\\Program Files\\Microsoft OneDrive\\OneDrive.exe",
        "OneDrive.exe",
        "Microsoft OneDrive",
        "Microsoft OneDrive",
        MS,
        "24.076.0414.0003",
        "Microsoft Corporation",
    ),
    Binary(
        "C:\\Program Files\\Microsoft VS Code\\Code.exe",
        "Code.exe",
        "Visual Studio Code",
        "Visual Studio Code",
        MS,
        "1.89.1",
        "Microsoft Corporation",
    ),
    Binary(
        "C:\\Program Files\\Git\\cmd\\git.exe",
        "git.exe",
        "Git for Windows",
        "Git",
        "The Git Development Community",
        "2.45.1.1",
        "-",
    ),
    Binary(
        "C:\\Program Files\\Python311\\python.exe",
        "python.exe",
        "Python",
        "Python",
        "Python Software Foundation",
        "3.11.9",
        "Python Software Foundation",
    ),
    Binary(
        "C:\\Program Files\\Microsoft SQL Server\\MSSQL16.MSSQLSERVER\\MSSQL\\Binn"
        "\\sqlservr.exe",
        "sqlservr.exe",
        "SQL Server Windows NT - 64 Bit",
        "Microsoft SQL Server",
        MS,
        "2022.160.4125.3",
        "Microsoft Corporation",
    ),
    Binary(
        "C:\\Program Files\\VaultKeep\\Agent\\vkagent.exe",
        "vkagent.exe",
        "VaultKeep Backup Agent",
        "VaultKeep Backup",
        "VaultKeep Software",
        "11.2.0.1480",
        "VaultKeep Software",
    ),
    Binary(
        "C:\\Program Files\\Microsoft Monitoring Agent\\Agent\\MonitoringHost.exe",
        "MonitoringHost.exe",
        "Microsoft Monitoring Agent Host Process",
        "System Center",
        MS,
        "10.20.18069.0",
        "Microsoft Corporation",
    ),
    Binary(
        "C:\\Windows\\Sysmon64.exe",
        "Sysmon.exe",
        "System activity monitor",
        "Sysinternals Sysmon",
        "Sysinternals - www.sysinternals.com",
        "15.14",
        "Microsoft Corporation",
    ),
)

LIBRARIES: tuple[Binary, ...] = tuple(
    _sys32(name, name, description)
    for name, description in (
        ("ntdll.dll", "NT Layer DLL"),
        ("kernel32.dll", "Windows NT BASE API Client DLL"),
        ("KernelBase.dll", "Windows NT BASE API Client DLL"),
        ("user32.dll", "Multi-User Windows USER API Client DLL"),
        ("advapi32.dll", "Advanced Windows 32 Base API"),
        ("combase.dll", "Microsoft COM for Windows"),
        ("ole32.dll", "Microsoft OLE for Windows"),
        ("ws2_32.dll", "Windows Socket 2.0 32-Bit DLL"),
        ("crypt32.dll", "Crypto API32"),
        ("wininet.dll", "Internet Extensions for Win32"),
        ("winhttp.dll", "Windows HTTP Services"),
        ("bcrypt.dll", "Windows Cryptographic Primitives Library"),
        ("amsi.dll", "Anti-Malware Scan Interface"),
        ("dnsapi.dll", "DNS Client API DLL"),
        ("taskschd.dll", "Task Scheduler COM API"),
        ("wldp.dll", "Windows Lockdown Policy"),
        ("uxtheme.dll", "Microsoft UxTheme Library"),
        ("shell32.dll", "Windows Shell Common Dll"),
        ("msvcp_win.dll", "Microsoft® C Runtime Library"),
        ("sspicli.dll", "Security Support Provider Interface"),
        ("rpcrt4.dll", "Remote Procedure Call Runtime"),
        ("dbghelp.dll", "Windows Image Helper"),
        ("samlib.dll", "SAM Library DLL"),
        ("vaultcli.dll", "Credential Vault Client Library"),
    )
) + (
    Binary(
        "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\clr.dll",
        "clr.dll",
        "Microsoft .NET Runtime Common Language Runtime - WorkStation",
        "Microsoft® .NET Framework",
        MS,
        "4.8.9232.0",
    ),
    Binary(
        "C:\\Windows\\System32\\mscoree.dll",
        "mscoree.dll",
        "Microsoft .NET Runtime Execution Engine",
        MS_WINDOWS,
        MS,
        OS,
    ),
)

_BY_PATH = {b.path.lower(): b for b in BINARIES + LIBRARIES}
_BY_NAME = {b.name.lower(): b for b in BINARIES + LIBRARIES}


def lookup(path: str) -> Binary | None:
    """The catalogue entry for a full path, or (for known names) a bare file name."""
    key = path.lower()
    found = _BY_PATH.get(key)
    if found is None and "\\" not in key:
        found = _BY_NAME.get(key)
    return found


def by_name(name: str) -> Binary:
    """The entry for a file name such as ``powershell.exe``; KeyError if unknown."""
    return _BY_NAME[name.lower()]


def file_version(binary: Binary, os: str) -> str:
    """FileVersion as the version resource shows it on a host running ``os``."""
    if binary.version != OS:
        return binary.version
    return f"{_OS_BUILDS.get(os, _DEFAULT_BUILD)} (WinBuild.160101.0800)"


_META_CACHE: dict[tuple[str, str], tuple[str, ...]] = {}


def metadata(path: str, os: str) -> tuple[str, str, str, str, str, str]:
    """(FileVersion, Description, Product, Company, OriginalFileName, Hashes).

    Unknown files have no version resource, so Sysmon writes ``-`` for the first
    five, exactly as it does for a dropped tool; their hashes are still stable.
    """
    key = (path, os)
    meta = _META_CACHE.get(key)
    if meta is None:
        binary = lookup(path)
        if binary is None:
            meta = ("-", "-", "-", "-", "-", sysmon_hashes(path))
        else:
            version = file_version(binary, os)
            meta = (
                version,
                binary.description,
                binary.product,
                binary.company,
                binary.original,
                sysmon_hashes(binary.path, version),
            )
        if len(_META_CACHE) > 50_000:
            _META_CACHE.clear()
        _META_CACHE[key] = meta
    return meta  # type: ignore[return-value]


def signature(path: str) -> tuple[str, str, str]:
    """(Signed, Signature, SignatureStatus) for an image load."""
    binary = lookup(path)
    if binary is None or binary.signature == "-":
        return ("false", "-", "Unavailable")
    return ("true", binary.signature, "Valid")
