"""End to end: a drill played at 60x, the team's actions scripted through the JSON
API with a personal token, ENDEX and scoring through the API, and the score
document checked against values worked out by hand in this file.

How the run is made exact (see ``tests/web/scoring_e2e_drill.py``). The scenario
``scoring-drill`` writes one log line at scenario minutes 1, 5 and 10, which at 60x
are active seconds 1, 5 and 10. The drill starts 46 minutes in the past and the
engine is ticked at explicit past instants, so those stages, their alerts and one
benign administrator alert exist. Control then pauses the drill at active minute 45
(also in the past) and the team does all its work during the pause: SCORING.md B1
rule 3 stamps every action with the resume instant, active second 2700, so every
human time is exact. The platform dates an alert from the moment the engine
announced it, which in this replayed run falls inside the pause as well: every
time-to-acknowledge is 0 (an acknowledgement cannot be made late by replaying the
past), and lateness shows in detection instead: the P1 stage is found 44.8 minutes
after it started against a 30-minute target. The actor's return is due one
scenario minute (one wall second) after the pause; the workstation isolated during
the pause prevents it once play resumes.

The team's script: the phishing alert acknowledged and closed as a true positive;
of the loader's two alerts one closed as a true positive, one wrongly closed as
benign; the LSASS-dump alert acknowledged and left open; the administrator's
benign script escalated as an incident and its workstation isolated; the victim's
workstation isolated and the administrator's password reset (the C2 domain never
blocked); an incident ticket of severity P1 with every section but impact, three
assets (one wrong) and four techniques, sent to the customer.
"""

from __future__ import annotations

import pytest

from simulator.scenario import load_scenario
from socdrill.extensions import db
from tests.web.scoring_e2e_drill import (
    MINUTE,
    PAUSED_AT,
    SCENARIO,
    SPEED,
    ScoredDrill,
    play_and_score,
)
from tests.web.test_engine_support import engine_app

APPROX = {"abs": 1e-3}


def sla_score(x: float, target_minutes: float) -> float:
    """B3: ``S(x; T, H = T)``: 1 up to the target, then halving every T."""
    target = target_minutes * MINUTE
    return 1.0 if x <= target else 2.0 ** (-(x - target) / target)


# --- the hand computation ------------------------------------------------------------

# Everything the team did, every alert and the containment count at the resume
# instant (B1 rule 3), active second 2700.
T_ACTION = PAUSED_AT
# Inject: each stage's only log line is written at its `at`, scenario minute 1, 5 or
# 10, which is active second 1, 5 or 10 at 60x.
T_INJ = {"delivery": 1.0, "execution": 5.0, "credential-access": 10.0}
TIER = {"delivery": "P3", "execution": "P2", "credential-access": "P1"}
TTD = {stage: T_ACTION - t for stage, t in T_INJ.items()}  # 2699, 2695, 2690 s
TTA = 0.0  # alert and acknowledgement both count at the resume instant

TIME_SCORE = {
    # P3: detection 45.0 min against 240, ack 0 against 120. Nothing to contain
    # (no required response), so containment is not judged: (0.4 + 0.2) / 0.6.
    "delivery": (0.4 * sla_score(TTD["delivery"], 240) + 0.2 * sla_score(TTA, 120))
    / 0.6,
    # P2: detection 44.9 min against 60, ack 0 against 30. The C2 domain was never
    # blocked, so containment is incomplete; ENDEX came seconds after detection,
    # well inside the 240-minute window, so it is not judged (B2 edge case).
    "execution": (0.4 * sla_score(TTD["execution"], 60) + 0.2 * sla_score(TTA, 30))
    / 0.6,
    # P1: detection 44.8 min against 30: late, 2^-(890/1800) = 0.710. Ack 0
    # against 15. Isolation and password reset in effect at detection: TTC 0.
    "credential-access": 0.4 * sla_score(TTD["credential-access"], 30)
    + 0.2 * sla_score(TTA, 15)
    + 0.4 * sla_score(0.0, 60),
}
# Tier weights P1 4, P2 3, P3 2.
TIMELINESS = (
    2 * TIME_SCORE["delivery"]
    + 3 * TIME_SCORE["execution"]
    + 4 * TIME_SCORE["credential-access"]
) / 9

# B5: credential-access ran, its 30 points are lost; the actor's return (50) was
# prevented. D_real = 30, D_max = 30 + 50.
D_REAL, D_MAX = 30.0, 80.0
DAMAGE_PREVENTED = 1 - D_REAL / D_MAX

# B4.1: attack alerts P = 4 (macro mail, Office spawning PowerShell, its encoded
# command, LSASS dump), benign N = 1 (the administrator's script). TP 2 (mail,
# Office), FN 1 (encoded command closed as benign), U_P 1 (LSASS dump left open),
# FP 1 (the script escalated), U_N 0. Weights w_FN = 5, w_FP = 1.
TRIAGE = 1 - (5 * (1 + 0.5 * 1) + 1 * (1 + 0.5 * 0)) / (5 * 4 + 1 * 1)

# B4.5: required by the stages that ran, as distinct (action, target): isolate the
# victim's workstation and block the C2 domain (execution), isolate the workstation
# and reset the administrator's password (credential-access): 3. Done 2. One
# collateral: the administrator's own workstation isolated although no stage
# touches it; it is an ordinary workstation, not a DC, ERP or OT controller: 0.05.
RESPONSE = 2 / 3 * (1 - 0.05)

# B4.2: every field scores 1 but impact (left empty, weight .15): the severity P1
# equals the truth, the remediation names expected actions, the timeline (the
# ticket's assets) covers every detected stage. The ticket covers the three stages.
COMPLETENESS = 1 - 0.15
# B4.3: truth = entities of the stages that ran {victim, victim_ws, it_admin};
# reported {victim_ws, it_admin, the administrator's workstation}: P = R = 2/3.
P_ASSETS = R_ASSETS = 2 / 3
ASSETS = (1 + 2**2) * P_ASSETS * R_ASSETS / (2**2 * P_ASSETS + R_ASSETS)  # F2
# B4.4: truth {T1566, T1059, T1003} (parents). Reported T1059.001 the same technique
# (1), T1003 the parent of T1003.001 (1), T1078 shares Initial Access with T1566
# (0.5), T1490 an Impact technique (0): credit 2.5 over 4 reported, 3 true.
P_ATTACK, R_ATTACK = 2.5 / 4, 2.5 / 3
ATTACK = 2 * P_ATTACK * R_ATTACK / (P_ATTACK + R_ATTACK)
# Report, the v1 variant without TTR.
REPORT = 0.4 * COMPLETENESS + 0.3 * ASSETS + 0.3 * ATTACK

COMPONENTS = {
    "damage_prevented": DAMAGE_PREVENTED,
    "timeliness": TIMELINESS,
    "triage": TRIAGE,
    "response": RESPONSE,
    "report": REPORT,
}
# B6 weights.
TES = 100 * (
    0.25 * DAMAGE_PREVENTED
    + 0.20 * TIMELINESS
    + 0.15 * TRIAGE
    + 0.15 * RESPONSE
    + 0.25 * REPORT
)


# --- the run -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory) -> ScoredDrill:
    """One played, scripted and scored drill for every test of the module."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        app = engine_app(tmp_path_factory.mktemp("drill"), monkeypatch)
        with app.app_context():
            try:
                return play_and_score(app)
            finally:
                db.session.remove()
                db.engine.dispose()


def test_the_drill_ran_and_was_worked_as_scripted(drill: ScoredDrill):
    assert drill.outcomes == {
        "delivery": "fired",
        "execution": "fired",
        "credential-access": "fired",
        "return-with-admin": "prevented",  # the victim's workstation was isolated
    }
    assert drill.queue_rules == [
        "email-macro-attachment",
        "lsass-minidump-comsvcs",
        "office-spawns-powershell",
        "powershell-encoded-command",  # the loader's command line
        "powershell-encoded-command",  # the administrator's script
    ]
    # Ground truth from the SIEM labels: which alert belongs to which stage.
    assert drill.alert_stages == {
        "mail": {"delivery"},
        "office": {"execution"},
        "encoded": {"execution"},
        "lsass": {"credential-access"},
        "admin": set(),  # no labelled event: benign
    }
    # 3 acknowledgements, 3 closures and 1 escalation, 3 responses, 2 ticket
    # updates, 1 report; all landed in the pause and count at its end.
    assert len(drill.activity) == 13
    assert {row["active_seconds"] for row in drill.activity} == {T_ACTION}
    # The scorer reads one row more: the escalation also opened a ticket, and the
    # ticket fields it set are read as that ticket's first update.
    assert drill.document["input_notes"]["activity_during_pause"] == 14


def test_the_inject_times_are_the_scenario_times_at_60x():
    stages = {stage.id: stage for stage in load_scenario(SCENARIO).stages}
    assert {name: stages[name].at / SPEED for name in T_INJ} == T_INJ


def test_stage_times_and_timeliness_follow_the_sla_curve(drill: ScoredDrill):
    stages = {s["stage"]: s for s in drill.document["stages"]}
    for name, t_inj in T_INJ.items():
        got = stages[name]
        assert (got["status"], got["tier"], got["detected"]) == (
            "scored",
            TIER[name],
            True,
        )
        assert got["t_inj"] == pytest.approx(t_inj, **APPROX)
        assert [got["t_alert"], got["t_ack"], got["t_det"]] == pytest.approx(
            [T_ACTION] * 3, **APPROX
        )
        assert got["tta"] == pytest.approx(TTA, **APPROX)
        assert got["ttd"] == pytest.approx(TTD[name], **APPROX)
        assert got["time_score"] == pytest.approx(TIME_SCORE[name], **APPROX)
    assert stages["credential-access"]["ttc"] == pytest.approx(0.0, **APPROX)
    assert stages["credential-access"]["scores"]["detect"] == pytest.approx(
        2 ** (-890 / 1800), **APPROX
    )
    assert stages["execution"]["contain_judged"] is False
    assert stages["delivery"]["contain_judged"] is False
    # The prevented stage never wrote a line: not injected, never detected.
    assert stages["return-with-admin"]["status"] == "not_injected"
    assert stages["return-with-admin"]["detected"] is False
    assert drill.document["components"]["timeliness"] == pytest.approx(
        TIMELINESS, **APPROX
    )
    assert drill.document["flags"]["immediate_escalation"] == []


def test_damage_prevented_counts_the_stage_the_isolation_stopped(drill: ScoredDrill):
    damage = drill.document["details"]["damage_prevented"]
    assert (damage["d_real"], damage["d_max"]) == pytest.approx((D_REAL, D_MAX))
    assert damage["score"] == pytest.approx(DAMAGE_PREVENTED, **APPROX)


def test_triage_weighs_the_missed_the_false_and_the_open_alert(drill: ScoredDrill):
    assert drill.document["details"]["triage"] == {
        "score": pytest.approx(TRIAGE, **APPROX),
        "attack_alerts": 4,
        "benign_alerts": 1,
        "tp": 2,
        "fn": 1,
        "fp": 1,
        "tn": 0,
        "unhandled_attack": 1,
        "unhandled_benign": 0,
        "fp_rate_of_benign": pytest.approx(1 / 1),
        "fp_share_of_escalations": pytest.approx(1 / (2 + 1)),
    }


def test_response_correctness_charges_the_wrong_isolation(drill: ScoredDrill):
    response = drill.document["details"]["response"]
    assert (response["required"], response["done_correct"]) == (3, 2)
    assert response["missed"] == [
        {"action": "block_domain", "target": drill.bound["c2_domain"]}
    ]
    assert [
        (c["action"], c["target"].casefold(), c["business_critical"], c["penalty"])
        for c in response["collateral"]
    ] == [("isolate_host", drill.admin_host.casefold(), False, 0.05)]
    assert response["score"] == pytest.approx(RESPONSE, **APPROX)


def test_reporting_scores_completeness_assets_and_attack_tags(drill: ScoredDrill):
    report = drill.document["details"]["report"]
    (ticket,) = report["tickets"]
    assert ticket["stages"] == ["credential-access", "delivery", "execution"]
    assert ticket["fields"] == {
        "context": 1.0,
        "facts": 1.0,
        "analysis": 1.0,
        "conclusion": 1.0,
        "remediation": 1.0,
        "impact": 0.0,
        "severity": 1.0,
        "timeline": 1.0,
    }
    assert report["completeness"] == pytest.approx(COMPLETENESS, **APPROX)
    assets = report["assets"]
    assert (assets["precision"], assets["recall"], assets["score"]) == pytest.approx(
        (P_ASSETS, R_ASSETS, ASSETS), **APPROX
    )
    assert assets["missed"] == [drill.bound["victim"]]
    assert assets["extra"] == [drill.admin_host]
    attack = report["attack"]
    assert attack["credit"] == {"T1003": 1.0, "T1059": 1.0, "T1078": 0.5, "T1490": 0.0}
    assert (attack["precision"], attack["recall"], attack["score"]) == pytest.approx(
        (P_ATTACK, R_ATTACK, ATTACK), **APPROX
    )
    assert report["score"] == pytest.approx(REPORT, **APPROX)
    # Sent with C >= 0.7 right at detection: every stage reported, TTR 0.
    stages = {s["stage"]: s for s in drill.document["stages"]}
    assert [stages[name]["ttr"] for name in T_INJ] == pytest.approx([0.0] * 3)


def test_the_components_and_tes_are_the_hand_computed_values(drill: ScoredDrill):
    assert drill.document["components"] == pytest.approx(COMPONENTS, **APPROX)
    assert drill.document["tes"]["tes"] == pytest.approx(TES, **APPROX)
    assert drill.document["tes"]["not_applicable"] == []
