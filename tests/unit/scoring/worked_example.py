"""The worked example of the scoring specification (B9), built as scorer input.

"Phish → credential theft → exfiltration", unannounced, c = 1, one 10-minute pause.
All published times are active minutes; the pause runs from active minute 50 (wall
50–60), so every wall instant after it is ten minutes later than its active minute,
while simulated event time (scenario time) does not advance during the pause.
"""

from __future__ import annotations

from scoring import (
    Activity,
    Alert,
    Exercise,
    ExerciseClock,
    InjectEvidence,
    Precondition,
    RequiredResponse,
    Stage,
    TeamMember,
)
from scoring.settings import DAY
from scoring.skills import SkillState

START = 1_767_254_400.0  # 2026-01-01T08:00:00Z
PAUSE_AT, PAUSE_MINUTES = 50, 10
END_MINUTE = 180

CATALOGUE = {
    "T1566": ("initial-access",),
    "T1003": ("credential-access",),
    "T1021": ("lateral-movement",),
    "T1048": ("exfiltration",),
    "T1041": ("exfiltration",),
    "T1078": (
        "defense-evasion",
        "persistence",
        "privilege-escalation",
        "initial-access",
    ),
}


def wall(minute: float) -> float:
    """Wall instant of an active minute (actions never land inside the pause here)."""
    shifted = minute if minute < PAUSE_AT else minute + PAUSE_MINUTES
    return START + 60.0 * shifted


def simulated(minute: float) -> float:
    """Simulated ``Event.ts`` of a log line written at an active minute (c = 1)."""
    return START + 60.0 * minute


def clock() -> ExerciseClock:
    """Start, one pause, ENDEX at active minute 180."""
    return ExerciseClock.from_transitions(
        START,
        [
            (START + 60.0 * PAUSE_AT, "pause", None),
            (START + 60.0 * (PAUSE_AT + PAUSE_MINUTES), "resume", None),
        ],
        ended_at=wall(END_MINUTE),
    )


STAGES = (
    Stage(
        id="S1",
        techniques=("T1566.001",),
        tactic="initial-access",
        tier="P2",
        scope="windows",
        entities=("WS-12", "jdoe"),
        responses=(RequiredResponse("isolate_host", "WS-12"),),
        damage=10,
        unpreventable=True,
    ),
    Stage(
        id="S2",
        techniques=("T1003.001", "T1021.002"),
        tactic="credential-access",
        tier="P1",
        scope="windows",
        entities=("SRV-FS1", "svc_backup"),
        responses=(
            RequiredResponse("isolate_host", "SRV-FS1"),
            RequiredResponse("disable_account", "jdoe"),
        ),
        requires=(Precondition("host_online", "WS-12"),),
        damage=30,
        difficulty="hard",
        difficulty_b=0.5,  # calibrated: the example's item has b = 0.5
    ),
    Stage(
        id="S3",
        techniques=("T1048",),
        tactic="exfiltration",
        tier="P1",
        scope="network",
        entities=("SRV-FS1",),
        iocs=("203.0.113.50",),
        responses=(
            RequiredResponse("isolate_host", "SRV-FS1"),
            RequiredResponse("block_ip", "203.0.113.50", containment_critical=False),
        ),
        requires=(Precondition("host_online", "SRV-FS1"),),
        damage_rate=1.0,
        duration=3600.0,
        impact_terms=("file server",),
    ),
)

ATTACK_ALERTS = {
    "S1": (2, 5, 16),
    "S2": (31, 60, 80),
    "S3": (111, 112, 115),
}


def alerts() -> list[Alert]:
    """Nine attack alerts and 31 benign ones."""
    out = [
        Alert(f"a-{stage.lower()}-{i + 1}", wall(m), stage=stage, scope="windows")
        for stage, minutes in ATTACK_ALERTS.items()
        for i, m in enumerate(minutes)
    ]
    out += [Alert(f"b-{i:02d}", wall(3 + 5 * i), scope="windows") for i in range(31)]
    return out


def act(actor: str, kind: str, minute: float, *targets: str, **kw: object) -> Activity:
    """One activity row at an active minute."""
    ticket = kw.pop("ticket", None)
    at = kw.pop("at", None)
    return Activity(
        actor,
        kind,
        wall(minute) if at is None else at,  # type: ignore[arg-type]
        tuple(targets),
        ticket,  # type: ignore[arg-type]
        dict(kw),
    )


def activity() -> list[Activity]:
    """The observed actions of B9, plus routine benign triage."""
    rows = [
        act("A3", "chat", 20, "SRV-FS1", mentions=["A2"]),
        act("A1", "ack", 14, "a-s1-1"),
        act("A1", "verdict", 40, "a-s1-1", verdict="tp"),
        act(
            "A1",
            "ticket_update",
            40,
            ticket="INC-1",
            severity="P2",
            alerts=["a-s1-1"],
            assets=["WS-12", "jdoe"],
            techniques=["T1566.001"],
            context="Phishing mail opened by jdoe on WS-12.",
        ),
        act("A1", "ack", 42, "a-s1-2", "a-s1-3"),
        act("A1", "verdict", 44, "a-s1-2", "a-s1-3", verdict="tp"),
        act("A1", "ack", 55, "a-s2-1"),
        # Lands inside the pause (wall minute 55): stamped with the resume instant.
        act("A2", "kb_view", 0, "KB-7", at=START + 60.0 * 55),
        act("A2", "verdict", 70, "a-s2-1", verdict="tp"),
        act("A2", "ack", 72, "a-s2-2"),
        act("A2", "verdict", 75, "a-s2-2", verdict="escalated"),
        act("A1", "ack", 85, "a-s2-3"),
        act("A1", "verdict", 90, "a-s2-3", verdict="fp"),
        act("A2", "response", 95, "WS-12", action="isolate_host", approved_by="L"),
        act("A2", "response", 100, "jdoe", action="disable_account"),
        act("A1", "response", 105, "DC-01", action="isolate_host"),
        act("A2", "ack", 113, "a-s3-1"),
        act("A2", "verdict", 118, "a-s3-1", verdict="tp"),
        act("A2", "response", 120, "SRV-FS1", action="isolate_host"),
        act("A2", "ack", 122, "a-s3-2", "a-s3-3"),
        act("A2", "verdict", 122, "a-s3-2", "a-s3-3", verdict="tp"),
        act(
            "A2",
            "ticket_update",
            125,
            ticket="INC-1",
            severity="P1",
            alerts=["a-s1-1", "a-s2-1", "a-s3-1"],
            assets=["WS-12", "SRV-FS1", "jdoe", "WS-07"],
            techniques=["T1566.001", "T1003", "T1078", "T1041"],
            facts="LSASS read on WS-12, SMB to SRV-FS1, upload to 203.0.113.50.",
            analysis="Credential theft followed by lateral movement and exfiltration.",
            conclusion="True positive intrusion.",
            remediation="Isolate WS-12 and SRV-FS1, disable jdoe, block the C2.",
            impact="Users may notice slowness.",
            timeline=["a-s1-1", "a-s2-1"],
        ),
        act("L", "report_sent", 130, ticket="INC-1"),
    ]
    # Benign alerts: three escalated by mistake, two left unhandled, the rest closed.
    for i in range(31):
        alert_id, minute = f"b-{i:02d}", 3 + 5 * i + 3
        if i in (29, 30):
            continue
        verdict = "tp" if i in (4, 11, 17) else ("fp" if i % 2 else "benign")
        rows.append(act("A3", "ack", minute - 1, alert_id))
        rows.append(act("A3", "verdict", minute, alert_id, verdict=verdict))
    return rows


TEAM = (
    TeamMember("A1", "L1"),
    TeamMember("A3", "L1"),
    TeamMember("A2", "L2"),
    TeamMember("L", "lead"),
)


def exercise(**overrides: object) -> Exercise:
    """The B9 exercise; keyword arguments replace fields for edge-case variants."""
    fields: dict[str, object] = {
        "id": "ex-b9",
        "scenario": "phish-credential-exfiltration",
        "clock": clock(),
        "stages": STAGES,
        "evidence": [
            InjectEvidence("S1", simulated(0)),
            InjectEvidence("S1", simulated(1)),
            InjectEvidence("S2", simulated(30)),
            InjectEvidence(None, simulated(5)),
            InjectEvidence("S3", simulated(110)),
            InjectEvidence("S3", simulated(140)),
        ],
        "alerts": alerts(),
        "activity": activity(),
        "announced": False,
        "critical_assets": frozenset({"DC-01"}),
        "technique_tactics": CATALOGUE,
        "team": TEAM,
    }
    fields.update(overrides)
    return Exercise(**fields)  # type: ignore[arg-type]


def a2_prior() -> dict[str, dict[tuple[str, str], SkillState]]:
    """A2's windows × credential-access cell: θ 0.20, n 3, last update 180 days
    before this exercise's update (so n decays to 1.5)."""
    return {
        "A2": {
            ("windows", "credential-access"): SkillState(
                theta=0.20, n=3.0, updated_at=wall(END_MINUTE) - 180 * DAY
            )
        }
    }
