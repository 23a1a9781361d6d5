"""Rule tuning on recorded exercises: alerts split by ground truth, only after
ENDEX and only in the reader's tenants, and an exception's counts before and after."""

from __future__ import annotations

import pytest

from siem.detector import retro_hunt
from simulator.events import Event, Label
from socdrill.engine.delivery import siem_store
from socdrill.engine.routes import rule_pack
from tests.web.conftest import Browser, make_exercise, row_counts
from tests.web.test_review_support import ReviewWorld

RULE_NAME = "idp-signin-bad-password"
START = 1_795_000_000.0


def _event(uid: str, minute: float, host: str, user: str) -> Event:
    fields = {
        "ResultType": "50126",
        "UserPrincipalName": user,
        "ClientAppUsed": "Browser",
    }
    return Event(
        uid=uid,
        ts=START + 60 * minute,
        sensor="idp_signin",
        host=host,
        product="azure",
        category=None,
        service="signinlogs",
        fields=fields,
        raw=f"sign-in failure for {user}",
    )


@pytest.fixture
def recorded(app, world):
    """Sign-in failures: a spray on the victim (malicious) and a helpdesk account's
    typos (noise) in ended exercise A; the same in tenant B and in a drill of A
    that has not ended, which must not be counted."""
    review = ReviewWorld(app, world)
    review.end(world.exercise_a)
    review.end(world.exercise_b)
    running = make_exercise(world.tenant_a, world.team_a, world.manager, name="Live")
    store = siem_store(app)
    plan = {
        ("tenant-a", str(world.exercise_a.id)): "a",
        ("tenant-b", str(world.exercise_b.id)): "b",
        ("tenant-a", str(running.id)): "r",
    }
    for (tenant, exercise), tag in plan.items():
        attack = [
            _event(f"{tag}-atk-{i}", i, "idp-1", "victim@corp.example")
            for i in range(3)
        ]
        noise = [
            _event(
                f"{tag}-noise-{i}", 20 * i, f"idp-{i % 2 + 2}", "helpdesk@corp.example"
            )
            for i in range(4)
        ]
        store.insert(attack + noise, tenant=tenant, exercise=exercise)
        store.insert_labels(
            [Label(e.uid, "spray", "S1", "T1110.003") for e in attack],
            exercise=exercise,
        )
    rule = next(r for r in rule_pack() if r.name == RULE_NAME)
    retro_hunt(store, [rule], record=True)
    return rule


def _signed_in(app, username: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.login(username).status_code == 302
    return browser


def test_alerts_per_rule_are_split_by_ground_truth_in_ended_exercises_of_my_tenants(
    app, recorded
):
    body = _signed_in(app, "manager").get("/api/v1/review/rules").get_json()
    assert body["exercises"] == 1
    row = next(r for r in body["rules"]["rows"] if r["rule_id"] == recorded.id)
    # One alert for the spray on idp-1 (malicious), noise alerts on idp-2 and idp-3.
    assert row["true_positives"] == 1
    assert row["false_positives"] == 4
    assert row["events"] == 7


def test_an_exception_shows_the_counts_before_and_after(app, recorded):
    response = _signed_in(app, "lead").post_json(
        "/api/v1/review/rules/try",
        {
            "rule_id": recorded.id,
            "exception": "UserPrincipalName: helpdesk@corp.example",
        },
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["before"]["events"] == 7 and body["after"]["events"] == 3
    assert body["before"]["false_positive_events"] == 4
    assert body["after"]["false_positive_events"] == 0
    assert body["after"]["true_positive_events"] == 3
    assert body["after"]["alerts"] == 1


def test_the_page_warns_when_an_exception_hides_malicious_events(app, recorded):
    browser = _signed_in(app, "manager")
    page = browser.post(
        "/review/rules/try",
        {
            "rule_id": recorded.id,
            "exception": "UserPrincipalName|endswith: '@corp.example'",
        },
    ).get_data(as_text=True)
    assert "would hide 3 malicious event(s)" in page


@pytest.mark.parametrize(
    ("exception", "status", "field"),
    [
        ("UserPrincipalName: [unclosed", 422, "exception"),
        ("- just\n- a list", 422, "exception"),
        ("x" * 10_001, 422, "body.exception"),
        ("UserPrincipalName|nosuchmodifier: x", 422, "exception"),
        ("UserPrincipalName: {nested: map}", 422, "exception"),
    ],
)
def test_a_malformed_exception_is_refused_and_changes_nothing(
    app, recorded, exception, status, field
):
    browser = _signed_in(app, "manager")
    before = row_counts()
    response = browser.post_json(
        "/api/v1/review/rules/try", {"rule_id": recorded.id, "exception": exception}
    )
    assert response.status_code == status, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert row_counts() == before


def test_an_unknown_rule_answers_404(app, recorded):
    response = _signed_in(app, "manager").post_json(
        "/api/v1/review/rules/try", {"rule_id": "no-such-rule", "exception": "a: b"}
    )
    assert response.status_code == 404


def test_analysts_and_hr_cannot_read_ground_truth_counts(app, recorded):
    for username in ("analyst", "hr", "observer"):
        assert _signed_in(app, username).get("/review/rules").status_code == 403


def test_the_rule_counts_export_carries_the_marker(app, recorded):
    response = _signed_in(app, "lead").get(
        "/review/rules/export?table=rules&format=csv"
    )
    text = response.get_data(as_text=True)
    assert text.startswith("[EXERCISE]") and recorded.id in text
