"""The debrief's tables, built from a score document already cut for its reader.

Every table the pages show is one :class:`Table`, and the exports write exactly these
tables, so an export can never carry more than the page: what the reader may not
see was removed from the document before any table was built.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scoring.settings import MINUTE
from scoring.team import COMPONENT_LABELS

TIME_NAMES = (
    ("ack", "tta", "acknowledge"),
    ("detect", "ttd", "detect"),
    ("contain", "ttc", "contain"),
    ("report", "ttr", "report"),
)
GRADE_WORDS = {
    "P": "performed without challenges",
    "S": "performed with some challenges",
    "M": "performed with major challenges",
    "U": "unable to be performed",
}


@dataclass(frozen=True, slots=True)
class Table:
    """A titled table: column keys with their labels, rows keyed by column."""

    name: str
    title: str
    columns: Sequence[tuple[str, str]]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def column_keys(self) -> list[str]:
        return [key for key, _ in self.columns]

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "columns": [{"key": k, "label": label} for k, label in self.columns],
            "rows": self.rows,
        }


def minutes(seconds: float | None) -> float | None:
    """Active seconds as minutes with one decimal (None stays None)."""
    return None if seconds is None else round(seconds / MINUTE, 1)


def rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def sla_of(document: Mapping[str, Any], tier: str) -> Mapping[str, float]:
    """The SLA row (minutes) the exercise was judged by: staffed or on call."""
    settings = document.get("settings") or {}
    staffing = (document.get("exercise") or {}).get("staffing", "staffed")
    table = settings.get("sla_on_call" if staffing == "on_call" else "sla_staffed")
    return (table or {}).get(tier, {})


def _notes(stage: Mapping[str, Any]) -> str:
    notes = []
    if stage.get("status") != "scored":
        notes.append(str(stage.get("status")).replace("_", " "))
    for key, word in (
        ("proactive", "proactive (hunted before any alert)"),
        ("assisted", "assisted (a hint was given)"),
        ("contained_without_detection", "contained without detection"),
        ("window_cap_applied", "capped: ENDEX inside the containment window"),
    ):
        if stage.get(key):
            notes.append(word)
    if stage.get("status") == "scored" and not stage.get("detected"):
        notes.append("not detected")
    return "; ".join(notes)


def stages_table(document: Mapping[str, Any]) -> Table:
    """Per-stage times against the SLA (active minutes)."""
    columns: list[tuple[str, str]] = [
        ("stage", "Stage"),
        ("tier", "Tier"),
        ("t_inj", "Inject (min)"),
        ("t_alert", "First alert"),
        ("t_ack", "Acknowledged"),
        ("t_det", "Detected"),
        ("t_cont", "Contained"),
        ("t_rep", "Reported"),
    ]
    for name, attr, word in TIME_NAMES:
        columns += [
            (attr, f"Time to {word}"),
            (f"sla_{name}", "SLA"),
            (f"score_{name}", "Score"),
        ]
    columns += [("time_score", "Stage timeliness"), ("notes", "Notes")]
    rows = []
    for stage in document.get("stages") or []:
        sla = sla_of(document, stage["tier"])
        scores = stage.get("scores") or {}
        row: dict[str, Any] = {
            "stage": stage["stage"],
            "tier": stage["tier"],
            **{
                key: minutes(stage.get(key))
                for key in ("t_inj", "t_alert", "t_ack", "t_det", "t_cont", "t_rep")
            },
        }
        for name, attr, _ in TIME_NAMES:
            value = stage.get(attr)
            if attr == "ttd" and value is None and stage.get("ttd_censored"):
                value = stage["ttd_censored"]
            row[attr] = minutes(value)
            row[f"sla_{name}"] = sla.get(name)
            row[f"score_{name}"] = rounded(scores.get(name))
        row["time_score"] = rounded(stage.get("time_score"))
        row["notes"] = _notes(stage)
        rows.append(row)
    return Table("stages", "Stages against the SLA (active minutes)", columns, rows)


def kpis_table(document: Mapping[str, Any]) -> Table:
    """Headline KPIs, unweighted: % within SLA, median and p90 of each time."""
    kpis = document.get("kpis") or {}
    rows = []
    for name, _, word in TIME_NAMES:
        k = kpis.get(name) or {}
        within = k.get("within_sla")
        rows.append(
            {
                "measure": f"time to {word}",
                "within_sla_pct": None if within is None else round(100 * within, 1),
                "judged": k.get("judged"),
                "median_min": minutes(k.get("median")),
                "p90_min": minutes(k.get("p90")),
            }
        )
    detected = kpis.get("detected") or {}
    rows.append(
        {
            "measure": "mean time to detect (Kaplan–Meier median)",
            "within_sla_pct": None,
            "judged": detected.get("n"),
            "median_min": kpis.get("mttd_display"),
            "p90_min": None,
        }
    )
    rows.append(
        {
            "measure": "stages detected",
            "within_sla_pct": None,
            "judged": detected.get("n"),
            "median_min": f"{detected.get('x', 0)} of {detected.get('n', 0)}",
            "p90_min": None,
        }
    )
    rows.append(
        {
            "measure": "per-alert queue time to acknowledge",
            "within_sla_pct": None,
            "judged": None,
            "median_min": minutes(kpis.get("alert_queue_mtta_median")),
            "p90_min": None,
        }
    )
    return Table(
        "kpis",
        "Key performance indicators",
        [
            ("measure", "Measure"),
            ("within_sla_pct", "% within SLA"),
            ("judged", "Stages judged"),
            ("median_min", "Median (min)"),
            ("p90_min", "p90 (min)"),
        ],
        rows,
    )


def components_table(document: Mapping[str, Any]) -> Table:
    """The five components of the team profile and the weights used for TES."""
    components = document.get("components") or {}
    tes = document.get("tes") or {}
    weights = tes.get("weights_used") or {}
    rows = [
        {
            "component": COMPONENT_LABELS.get(name, name),
            "score": rounded(value),
            "weight": rounded(weights.get(name)),
        }
        for name, value in components.items()
    ]
    rows.append(
        {
            "component": "team exercise score (TES, 0–100)",
            "score": rounded(tes.get("tes"), 1),
            "weight": None,
        }
    )
    return Table(
        "components",
        "Team profile",
        [("component", "Component"), ("score", "Score"), ("weight", "Weight")],
        rows,
    )


def triage_table(document: Mapping[str, Any]) -> Table:
    """Triage confusion table: ground truth against the final disposition."""
    triage = (document.get("details") or {}).get("triage") or {}
    rows = [
        {
            "truth": "attack alert",
            "escalated": triage.get("tp"),
            "closed_benign": triage.get("fn"),
            "unhandled": triage.get("unhandled_attack"),
            "total": triage.get("attack_alerts"),
        },
        {
            "truth": "benign or noise alert",
            "escalated": triage.get("fp"),
            "closed_benign": triage.get("tn"),
            "unhandled": triage.get("unhandled_benign"),
            "total": triage.get("benign_alerts"),
        },
    ]
    return Table(
        "triage",
        "Triage: ground truth against disposition",
        [
            ("truth", "Ground truth"),
            ("escalated", "Closed as TP or escalated"),
            ("closed_benign", "Closed as FP or benign"),
            ("unhandled", "Unhandled at ENDEX"),
            ("total", "Total"),
        ],
        rows,
    )


def damage_table(document: Mapping[str, Any]) -> Table:
    damage = (document.get("details") or {}).get("damage_prevented") or {}
    rows = [
        {
            "stage": row["stage"],
            "executed": row.get("executed"),
            "counted": row.get("counted"),
            "damage": rounded(row.get("damage"), 1),
            "damage_max": rounded(row.get("damage_max"), 1),
        }
        for row in damage.get("stages") or []
    ]
    return Table(
        "damage",
        "Damage by stage (business points)",
        [
            ("stage", "Stage"),
            ("executed", "Ran"),
            ("counted", "Counted"),
            ("damage", "Incurred"),
            ("damage_max", "Without any response"),
        ],
        rows,
    )


def crisis_table(document: Mapping[str, Any]) -> Table:
    """Crisis messages: shown, first reply and response time against the target
    (reported beside TES, never inside it)."""
    crisis = document.get("crisis") or {}
    rows = [
        {
            "message": message["id"],
            "from": message.get("from"),
            "channel": message.get("channel"),
            "shown_min": minutes(message.get("t_shown")),
            "reply_min": minutes(message.get("response_time")),
            "target_min": minutes(message.get("reply_within")),
            "within": message.get("within_target"),
            "score": rounded(message.get("score")),
        }
        for message in crisis.get("messages") or []
    ]
    rows += [
        {"message": held, "from": "", "channel": "not shown (held by control)"}
        for held in crisis.get("not_shown") or []
    ]
    return Table(
        "crisis",
        "Crisis communication (beside TES)",
        [
            ("message", "Message"),
            ("from", "From"),
            ("channel", "Channel"),
            ("shown_min", "Shown (min)"),
            ("reply_min", "Answered after (min)"),
            ("target_min", "Target (min)"),
            ("within", "Within target"),
            ("score", "Time score"),
        ],
        rows,
    )


def _missed_rows(document: Mapping[str, Any]) -> Iterable[dict[str, str]]:
    details = document.get("details") or {}
    for stage in document.get("stages") or []:
        name = stage["stage"]
        if stage.get("status") == "integrity_review":
            yield {
                "what": f"stage {name}",
                "why": "left out of scoring: an alert or indicator of the stage was "
                "referenced before its first log line; control must review it",
            }
            continue
        if stage.get("status") != "scored":
            continue
        if not stage.get("detected"):
            censored = minutes(stage.get("ttd_censored"))
            yield {
                "what": f"stage {name} ({stage['tier']})",
                "why": f"not detected: no qualifying detection within {censored} min "
                "of its first log line",
            }
        elif stage.get("contain_judged") and stage.get("t_cont") is None:
            yield {
                "what": f"stage {name} ({stage['tier']})",
                "why": "detected but never contained",
            }
    for link in (document.get("flags") or {}).get("pre_inject_link") or []:
        yield {
            "what": f"{link['ref']} ({link['source']})",
            "why": f"referenced at minute {minutes(link['t'])}, before stage "
            f"{link['stage']} began: discarded as a false link",
        }
    report = details.get("report") or {}
    for asset in (report.get("assets") or {}).get("missed") or []:
        yield {
            "what": asset,
            "why": "affected, but named in no incident ticket",
        }
    for technique in (report.get("attack") or {}).get("missed") or []:
        yield {
            "what": technique,
            "why": "ATT&CK technique of the scenario not tagged on any ticket",
        }
    response = details.get("response") or {}
    for item in response.get("missed") or []:
        yield {
            "what": f"{item['action']} {item['target']}",
            "why": "required response action not taken",
        }
    triage = details.get("triage") or {}
    if triage.get("fn"):
        yield {
            "what": f"{triage['fn']} attack alert(s)",
            "why": "closed as false positive or benign",
        }
    if triage.get("unhandled_attack"):
        yield {
            "what": f"{triage['unhandled_attack']} attack alert(s)",
            "why": "never handled before ENDEX",
        }


def missed_table(document: Mapping[str, Any]) -> Table:
    """What was missed, and why the scorer says so."""
    return Table(
        "missed",
        "What was missed and why",
        [("what", "What"), ("why", "Why")],
        list(_missed_rows(document)),
    )


def aar_tables(document: Mapping[str, Any]) -> tuple[Table, Table]:
    """Strengths and areas for improvement (seeded from the lowest components)."""
    aar = document.get("aar") or {}

    def rows(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                "component": COMPONENT_LABELS.get(i["component"], i["component"]),
                "score": rounded(i.get("score")),
                "finding": i["finding"],
            }
            for i in items
        ]

    columns = [("finding", "Finding"), ("component", "Component"), ("score", "Score")]
    return (
        Table("strengths", "Strengths", columns, rows(aar.get("strengths") or [])),
        Table(
            "areas",
            "Areas for improvement",
            columns,
            rows(aar.get("areas_for_improvement") or []),
        ),
    )


def cohesion_table(document: Mapping[str, Any]) -> Table | None:
    """The five cohesion components with CI (never CI alone); None if not shown."""
    cohesion = document.get("cohesion")
    if not cohesion:
        return None
    names = {
        "PB": "participation balance",
        "IS": "information sharing",
        "HQ": "hand-off quality",
        "CS": "core stability",
        "KS": "knowledge sharing",
    }
    rows = [
        {"component": f"{names.get(k, k)} ({k})", "value": rounded(v)}
        for k, v in (cohesion.get("components") or {}).items()
    ]
    rows.append(
        {
            "component": "cohesion index (CI, 0–100)",
            "value": rounded(cohesion.get("ci"), 1),
        }
    )
    for flag in cohesion.get("red_flags") or []:
        detail = ", ".join(f"{k} {v}" for k, v in flag.items() if k != "flag")
        rows.append({"component": f"red flag: {flag.get('flag')}", "value": detail})
    return Table(
        "cohesion",
        "Team cohesion (team level only)",
        [("component", "Component"), ("value", "Value")],
        rows,
    )


def coverage_table(
    coverage: Mapping[str, Any] | None, name: str = "coverage"
) -> Table | None:
    """Qualified analysts per scope and shift (counts only)."""
    if not coverage:
        return None
    below = {(b["scope"], b["shift"]) for b in coverage.get("below_target") or []}
    rows = [
        {
            "scope": scope,
            "shift": shift,
            "qualified": count,
            "below_target": (scope, shift) in below,
        }
        for scope, shifts in sorted((coverage.get("counts") or {}).items())
        for shift, count in sorted(shifts.items())
    ]
    return Table(
        name,
        "Qualified analysts per scope and shift (target: 2)",
        [
            ("scope", "Scope"),
            ("shift", "Shift"),
            ("qualified", "Qualified analysts"),
            ("below_target", "Below target"),
        ],
        rows,
    )


def justification(point: Mapping[str, Any]) -> str:
    """One sentence saying why a point moved a skill, with every number used."""
    kinds = {
        "triage": "triage of alert",
        "detection": "detection of stage",
        "response": "response action on",
        "ticket": "incident ticket",
    }
    what = f"{kinds.get(point['kind'], point['kind'])} {point['item']}"
    return (
        f"{what}: outcome y={point['y']:.2f} against expected p={point['p']:.2f} "
        f"(difficulty b={point['b']:.2f}), weight ω={point['weight']:.2f}, "
        f"step K={point['k']:.2f}: skill θ {point['theta_before']:.2f} → "
        f"{point['theta']:.2f}, evidence n {point['n_before']:.1f} → {point['n']:.1f}"
    )


def points_table(individual: Mapping[str, Any]) -> Table:
    """Every skill point of the people in the (already cut) individual section."""
    rows = [
        {
            "person": person,
            "cell": point["cell"],
            "kind": point["kind"],
            "item": point["item"],
            "y": rounded(point["y"]),
            "b": rounded(point["b"]),
            "weight": rounded(point["weight"]),
            "p": rounded(point["p"]),
            "k": rounded(point["k"]),
            "theta_before": rounded(point["theta_before"]),
            "theta": rounded(point["theta"]),
            "justification": justification(point),
        }
        for person, section in sorted(individual.items())
        for point in section.get("points") or []
    ]
    return Table(
        "points",
        "Skill points and their justification",
        [
            ("person", "Person"),
            ("cell", "Cell"),
            ("kind", "Kind"),
            ("item", "Item"),
            ("y", "Outcome y"),
            ("b", "Difficulty b"),
            ("weight", "Weight ω"),
            ("p", "Expected p"),
            ("k", "Step K"),
            ("theta_before", "θ before"),
            ("theta", "θ after"),
            ("justification", "Justification"),
        ],
        rows,
    )


def skills_table(individual: Mapping[str, Any], name: str = "skills") -> Table:
    """Skill cells with their 95 % band and evidence state (never ranked)."""
    rows = [
        {
            "person": person,
            "cell": cell,
            "p_med": rounded(shown["p_med"]),
            "band_low": rounded(shown["band"][0]),
            "band_high": rounded(shown["band"][1]),
            "n": rounded(shown["n"], 2),
            "status": shown["status"],
        }
        for person, section in sorted(individual.items())
        for cell, shown in sorted((section.get("skills") or {}).items())
    ]
    return Table(
        name,
        "Skill profile (expected success on a medium item, 95 % band)",
        [
            ("person", "Person"),
            ("cell", "Scope:tactic"),
            ("p_med", "p_med"),
            ("band_low", "Band low"),
            ("band_high", "Band high"),
            ("n", "Evidence n"),
            ("status", "Status"),
        ],
        rows,
    )
