"""The attack timeline: timing, events, labels, conditions, fallbacks, containment."""

from __future__ import annotations

import pytest

from simulator.environment import Organisation
from simulator.responses import ResponseState
from simulator.scenario import load_scenario
from simulator.timeline import Timeline
from tests.conftest import ROOT

SCENARIO_FILE = (
    ROOT / "tests" / "fixtures" / "scenarios" / "good" / "adaptive-attack.yaml"
)
START = 1_772_438_400.0  # 2026-03-02T08:00:00Z


@pytest.fixture(scope="module")
def org() -> Organisation:
    return Organisation.build(21, "small")


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(SCENARIO_FILE)


def timeline(scenario, org, seed=4, start=START) -> Timeline:
    return Timeline(scenario, org, seed, start)


def by_stage(outcomes):
    return {o.stage: o for o in outcomes}


def records(outcomes):
    return [e.to_record() for o in outcomes for e in o.events]


def test_the_same_inputs_give_the_same_events(scenario, org):
    first = timeline(scenario, org).run()
    second = timeline(scenario, org).run()
    assert records(first) == records(second)
    assert records(first) != records(timeline(scenario, org, seed=5).run())


def test_stages_fire_in_order_within_their_windows(scenario, org):
    outcomes = by_stage(timeline(scenario, org).run())
    delivery, execution = outcomes["delivery"], outcomes["execution"]
    assert START <= delivery.due <= START + 120
    assert 300 <= execution.due - delivery.due <= 900
    assert outcomes["credential-access"].due - execution.due == pytest.approx(1200)
    assert outcomes["exfiltration"].due - outcomes["credential-access"].due == (
        pytest.approx(300)
    )
    assert "new-c2" not in outcomes  # never needed: nothing was blocked
    assert [o.status for o in outcomes.values()] == ["fired"] * 4


def test_repeats_expand_into_spaced_events_with_unique_uids(scenario, org):
    outcomes = timeline(scenario, org).run()
    execution = by_stage(outcomes)["execution"]
    beacons = [e for e in execution.events if e.fields.get("DestinationPort") == 443]
    assert len(beacons) == 12
    gaps = {round(b.ts - a.ts, 3) for a, b in zip(beacons, beacons[1:], strict=False)}
    assert gaps == {30.0}
    assert beacons[0].ts - execution.due == pytest.approx(2.0, abs=1e-3)
    uids = [e.uid for o in outcomes for e in o.events]
    assert len(uids) == len(set(uids))
    assert all(u.startswith("a-") for u in uids)
    assert execution.events[0].uid == "a-execution-0"


def test_a_continuous_stage_writes_an_event_every_interval(scenario, org):
    exfiltration = by_stage(timeline(scenario, org).run())["exfiltration"]
    assert len(exfiltration.events) == 30
    assert exfiltration.ends == pytest.approx(exfiltration.due + 1800)


def test_templates_render_with_the_bound_roles(scenario, org):
    line = timeline(scenario, org)
    outcomes = by_stage(line.run())
    victim, host = line.bindings["victim"], line.bindings["victim_ws"]
    command = outcomes["execution"].events[0].fields["CommandLine"]
    assert command.startswith("powershell.exe -nop -w hidden -enc ")
    assert outcomes["execution"].events[0].fields["User"] == victim.domain_user
    beacon = outcomes["execution"].events[1]
    assert beacon.fields["DestinationIp"] == line.bindings["c2"]
    assert beacon.host in (host.name, host.fqdn)


def test_every_event_has_a_label_and_no_label_is_on_the_event(scenario, org):
    outcomes = timeline(scenario, org).run()
    for outcome in outcomes:
        assert [label.uid for label in outcome.labels] == [
            e.uid for e in outcome.events
        ]
        for label in outcome.labels:
            assert label.scenario == "adaptive-attack"
            assert label.stage == outcome.stage
            assert label.technique == outcome.technique
    for event in (e for o in outcomes for e in o.events):
        assert "adaptive-attack" not in event.raw


def test_editing_one_stage_does_not_reshuffle_the_others(scenario, org):
    text = SCENARIO_FILE.read_text(encoding="utf-8")
    edited = load_scenario(
        text.replace("GrantedAccess: '0x1010'", "GrantedAccess: '0x1fffff'")
    )
    before = by_stage(timeline(scenario, org).run())
    after = by_stage(timeline(edited, org).run())
    for stage in ("delivery", "execution"):
        assert records([before[stage]]) == records([after[stage]])
    assert before["credential-access"].due == after["credential-access"].due


def test_isolating_the_host_prevents_execution_and_everything_after(scenario, org):
    first = by_stage(timeline(scenario, org).run())
    isolate_at = first["delivery"].due + 60
    outcomes = by_stage(
        timeline(scenario, org).run([(isolate_at, "isolate_host", "victim_ws")])
    )
    assert outcomes["delivery"].status == "fired"
    assert outcomes["execution"].status == "prevented"
    assert outcomes["execution"].reason == "host_online: victim_ws no longer holds"
    assert outcomes["execution"].events == []
    assert outcomes["credential-access"].status == "prevented"
    assert "did not happen" in outcomes["credential-access"].reason
    assert outcomes["exfiltration"].status == "prevented"


def test_blocking_the_c2_domain_makes_the_attacker_fall_back(scenario, org):
    first = by_stage(timeline(scenario, org).run())
    block_at = first["execution"].due + 600
    outcomes = by_stage(
        timeline(scenario, org).run([(block_at, "block_domain", "c2_domain")])
    )
    credential = outcomes["credential-access"]
    assert credential.status == "fallback"
    assert credential.fallback == "new-c2"
    assert credential.reason == "not_blocked: c2_domain no longer holds"
    fallback = outcomes["new-c2"]
    assert fallback.status == "fired"
    assert fallback.due == pytest.approx(credential.due + 600)
    # The chain goes on from the fallback stage.
    assert outcomes["exfiltration"].due == pytest.approx(fallback.due + 300)


def test_isolating_during_a_continuous_stage_cuts_it_short(scenario, org):
    first = by_stage(timeline(scenario, org).run())
    isolate_at = first["exfiltration"].due + 600.5
    outcomes = by_stage(
        timeline(scenario, org).run([(isolate_at, "isolate_host", "victim_ws")])
    )
    exfiltration = outcomes["exfiltration"]
    assert exfiltration.contained_at == isolate_at
    assert len(exfiltration.events) == 11  # minutes 0..10
    assert all(e.ts <= isolate_at for e in exfiltration.events)
    assert len(exfiltration.labels) == 11


def test_asking_live_returns_each_stage_once(scenario, org):
    line = timeline(scenario, org)
    state = ResponseState()
    assert line.due(START - 1, state) == []
    first_due = line.next_due()
    assert START <= first_due <= START + 120
    seen = []
    now = START
    while now < START + 6 * 3600:
        seen += [o.stage for o in line.due(now, state)]
        now += 60
    assert seen == ["delivery", "execution", "credential-access", "exfiltration"]
    assert line.due(now, state) == []
    assert line.next_due() is None


def test_a_live_engine_can_contain_a_running_stage(scenario, org):
    line = timeline(scenario, org)
    state = ResponseState()
    line.due(START + 6 * 3600, state)
    exfiltration = line.outcomes["exfiltration"]
    cut = exfiltration.due + 120
    state.apply("isolate_host", line.bindings["victim_ws"], cut)
    changed = line.contain(cut, state)
    assert [o.stage for o in changed] == ["exfiltration"]
    assert len(exfiltration.events) == 3
    assert line.contain(cut + 60, state) == []


def test_crisis_injects_are_listed_with_their_due_times(scenario, org):
    line = timeline(scenario, org)
    (call,) = line.injects()  # the e-mail waits for exfiltration to happen
    assert call.id == "helpdesk-call"
    assert call.due == START + 45 * 60
    victim, host = line.bindings["victim"], line.bindings["victim_ws"]
    assert call.sender == victim.name
    assert (
        call.message == f"My laptop {host.name} is very slow since I opened an invoice."
    )
    assert call.reply_within == 900
    outcomes = by_stage(line.run())
    mail = [i for i in line.injects() if i.id == "cfo-mail"][0]
    assert mail.due == pytest.approx(outcomes["exfiltration"].due + 600)
    assert mail.subject == "Data leak?"


def test_injects_are_due_once_and_skip_stages_that_never_happened(scenario, org):
    line = timeline(scenario, org)
    assert line.due_injects(START) == []
    assert [i.id for i in line.due_injects(START + 3600)] == ["helpdesk-call"]
    assert line.due_injects(START + 3600) == []
    first = by_stage(timeline(scenario, org).run())
    prevented = timeline(scenario, org)
    prevented.run([(first["delivery"].due + 1, "isolate_host", "victim_ws")])
    assert [i.id for i in prevented.injects()] == ["helpdesk-call"]


def test_response_logs_of_a_run_are_kept_apart(scenario, org):
    line = timeline(scenario, org)
    line.run([(START + 3000, "isolate_host", "victim_ws")])
    (isolation,) = line.response_events
    assert isolation.sensor == "edr" and isolation.uid == "r-1"
    assert isolation.fields["operation"] == "isolate_host"
    assert isolation.host == line.bindings["victim_ws"].name
    attack_uids = {e.uid for o in line.outcomes.values() for e in o.events}
    assert "r-1" not in attack_uids


def test_attempts_after_a_block_are_denied_and_still_labelled(scenario, org):
    first = by_stage(timeline(scenario, org).run())
    execution = first["execution"]
    block_at = execution.due + 200  # after the 7th beacon
    line = timeline(scenario, org)
    outcomes = by_stage(line.run([(block_at, "block_ip", "c2")]))
    events = outcomes["execution"].events
    denials = [e for e in events if e.uid.endswith("-deny")]
    assert len(denials) == 5  # beacons at +212 … +332 seconds
    assert all(e.sensor == "firewall" and e.ts > block_at for e in denials)
    assert {e.fields["dst_ip"] for e in denials} == {line.bindings["c2"]}
    assert {e.fields["action"] for e in denials} == {"deny"}
    labels = {label.uid: label for label in outcomes["execution"].labels}
    assert all(labels[e.uid].stage == "execution" for e in denials)
    assert [e.ts for e in events] == sorted(e.ts for e in events)
