"""Response state: what each action changes, the logs it writes, what it breaks."""

from __future__ import annotations

import random

import pytest

from simulator.environment import Organisation
from simulator.responses import ResponseError, ResponseState, target_key
from simulator.sensors import SensorContext

TS = 1_772_438_400.0


@pytest.fixture(scope="module")
def org() -> Organisation:
    return Organisation.build(8, "small")


@pytest.fixture
def ctx(org) -> SensorContext:
    return SensorContext(org=org, rng=random.Random(2))


@pytest.fixture
def workstation(org):
    return org.hosts_where(kind="workstation")[0]


def test_isolating_a_host_breaks_host_online_and_writes_an_edr_action(ctx, workstation):
    state = ResponseState()
    assert state.holds("host_online", workstation)
    (event,) = state.apply("isolate_host", workstation, TS, ctx)
    assert not state.holds("host_online", workstation)
    assert not state.holds("host_online", workstation.name.upper())
    assert event.sensor == "edr" and event.host == workstation.name
    assert event.fields["operation"] == "isolate_host"
    assert event.ts == TS and event.uid == "r-1"
    state.apply("release_host", workstation.name, TS + 60, ctx)
    assert state.holds("host_online", workstation)


def test_disabling_an_account_writes_4725_on_a_domain_controller(org, ctx):
    user = org.users[3]
    state = ResponseState()
    (event,) = state.apply("disable_account", user, TS, ctx)
    assert event.sensor == "windows_security"
    assert event.fields["EventID"] == 4725
    assert event.fields["TargetUserName"] == user.sam
    assert event.host in {h.name for h in org.hosts_where(kind="domain_controller")}
    assert not state.holds("account_enabled", user)
    assert not state.holds("account_enabled", user.domain_user)
    (event,) = state.apply("enable_account", user.sam, TS + 1, ctx)
    assert event.fields["EventID"] == 4722
    assert state.holds("account_enabled", user)


def test_resetting_a_password_writes_4724(org, ctx):
    state = ResponseState()
    (event,) = state.apply("reset_password", org.users[1], TS, ctx)
    assert event.fields["EventID"] == 4724
    assert not state.holds("password_unchanged", org.users[1])


def test_disabling_an_access_key_writes_cloudtrail_update_access_key(org, ctx):
    owner = next(
        i.owner for a in org.cloud_accounts for i in a.iam_users if i.owner is not None
    )
    state = ResponseState()
    (event,) = state.apply("disable_access_key", owner, TS, ctx)
    assert event.sensor == "cloudtrail"
    assert event.fields["eventName"] == "UpdateAccessKey"
    assert event.fields["requestParameters"]["status"] == "Inactive"
    assert not state.holds("key_active", owner)


def test_blocks_break_not_blocked_for_the_domain_and_its_subdomains(ctx):
    state = ResponseState()
    state.apply("block_domain", "evil.test", TS, ctx)
    state.apply("block_ip", "203.0.113.9", TS, ctx)
    assert not state.holds("not_blocked", "evil.test")
    assert not state.holds("not_blocked", "cdn.evil.test")
    assert state.holds("not_blocked", "notevil.test")
    assert not state.holds("not_blocked", "203.0.113.9")
    state.apply("unblock_ip", "203.0.113.9", TS + 5, ctx)
    assert state.holds("not_blocked", "203.0.113.9")


def test_blocked_at_reads_the_history(ctx):
    state = ResponseState()
    state.apply("block_ip", "203.0.113.9", TS, ctx)
    state.apply("unblock_ip", "203.0.113.9", TS + 100, ctx)
    state.apply("block_domain", "evil.test", TS + 50, ctx)
    assert state.blocked_at("203.0.113.9", TS - 1) is None
    assert state.blocked_at("203.0.113.9", TS + 10) == "ip"
    assert state.blocked_at("203.0.113.9", TS + 200) is None
    assert state.blocked_at("a.evil.test", TS + 60) == "domain"


def test_revoking_sessions_breaks_sessions_valid(org, ctx):
    state = ResponseState()
    state.apply("revoke_sessions", org.users[2], TS, ctx)
    assert not state.holds("sessions_valid", org.users[2].sam)


def test_without_a_context_the_state_changes_and_no_log_is_written(workstation):
    state = ResponseState()
    assert state.apply("isolate_host", workstation, TS) == []
    assert state.isolated_hosts == {workstation.name.lower()}


def test_an_unknown_action_is_refused_and_changes_nothing(ctx, workstation):
    state = ResponseState()
    with pytest.raises(ResponseError, match="did you mean 'isolate_host'"):
        state.apply("isolate_hots", workstation, TS, ctx)
    assert state == ResponseState()


def test_an_action_on_something_that_does_not_exist_changes_nothing(ctx):
    state = ResponseState()
    with pytest.raises(ResponseError, match="no host called 'nosuchhost'"):
        state.apply("isolate_host", "nosuchhost", TS, ctx)
    with pytest.raises(ResponseError, match="no account called 'nobody'"):
        state.apply("disable_account", "nobody", TS, ctx)
    with pytest.raises(ResponseError, match="the target is empty"):
        state.apply("block_ip", "  ", TS, ctx)
    assert state == ResponseState()


def test_an_unknown_condition_is_an_error():
    with pytest.raises(ResponseError, match="unknown condition"):
        ResponseState().holds("host_offline", "x")


def test_targets_are_keyed_by_name_in_lower_case(org, workstation):
    user = org.users[0]
    assert target_key(user) == user.sam.lower()
    assert target_key(user.domain_user) == user.sam.lower()
    assert target_key(workstation) == workstation.name.lower()
    assert target_key("Evil.TEST.") == "evil.test"


def test_the_same_actions_write_the_same_logs(org, workstation):
    def logs():
        context = SensorContext(org=org, rng=random.Random(9))
        state = ResponseState()
        return [
            e.to_record()
            for action, target in (
                ("isolate_host", workstation),
                ("reset_password", org.users[0]),
            )
            for e in state.apply(action, target, TS, context)
        ]

    assert logs() == logs()
