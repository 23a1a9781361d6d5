"""Tenant isolation: another tenant's objects answer 404, lists leave them out."""

from __future__ import annotations

import pytest

from socdrill import tenancy
from socdrill.exercise import lifecycle
from socdrill.extensions import db
from socdrill.models import ExerciseState, utcnow
from tests.web.conftest import make_exercise

ACTIONS = [
    "schedule",
    "approve",
    "start",
    "pause",
    "resume",
    "speed",
    "endex",
    "review",
    "trusted-agents",
]


def test_a_person_sees_only_the_tenants_of_their_teams(world):
    assert tenancy.visible_tenant_ids(world.manager) == {world.tenant_a.id}
    assert tenancy.visible_tenant_ids(world.manager_b) == {world.tenant_b.id}
    assert tenancy.visible_tenant_ids(world.admin) is None


@pytest.mark.parametrize(
    "path",
    ["/exercises/{id}", "/api/v1/exercises/{id}", "/api/v1/exercises/{id}/events"],
)
def test_another_tenants_exercise_answers_404(world, browser, path):
    browser.login("manager")
    other = path.format(id=world.exercise_b.id)
    response = browser.get(other)
    assert response.status_code == 404
    assert b"Tenant tenant-b" not in response.data
    assert browser.get(path.format(id=world.exercise_a.id)).status_code == 200


@pytest.mark.parametrize("action", ACTIONS)
def test_control_actions_on_another_tenants_exercise_answer_404(world, browser, action):
    browser.login("manager")
    response = browser.post(f"/exercises/{world.exercise_b.id}/{action}")
    assert response.status_code == 404
    db.session.expire_all()
    assert world.exercise_b.state == ExerciseState.DRAFT


def test_lists_leave_other_tenants_out(world, browser):
    browser.login("manager")
    names = [e["id"] for e in browser.get("/api/v1/exercises").get_json()["exercises"]]
    assert names == [world.exercise_a.id]
    page = browser.get("/exercises").data
    assert f'/exercises/{world.exercise_b.id}"'.encode() not in page


def test_an_admin_sees_every_tenant(world, browser):
    browser.login("admin")
    ids = {e["id"] for e in browser.get("/api/v1/exercises").get_json()["exercises"]}
    assert ids == {world.exercise_a.id, world.exercise_b.id}


def test_leaving_the_team_takes_the_tenant_away(world, browser):
    browser.login("analyst")
    assert browser.get(f"/exercises/{world.exercise_a.id}").status_code == 200
    for membership in world.analyst.memberships:
        membership.left_at = utcnow()
    db.session.commit()
    assert browser.get(f"/exercises/{world.exercise_a.id}").status_code == 404


def test_an_unannounced_drill_stays_hidden_from_players_until_endex(world, browser):
    start = utcnow()
    secret = make_exercise(
        world.tenant_a,
        world.team_a,
        world.manager,
        name="Surprise",
        announced=False,
        window_start=start,
        window_end=start.replace(year=start.year + 1),
    )
    browser.login("analyst")
    assert browser.get(f"/exercises/{secret.id}").status_code == 404
    ids = [e["id"] for e in browser.get("/api/v1/exercises").get_json()["exercises"]]
    assert secret.id not in ids
    lifecycle.endex(secret.id, world.manager, utcnow(), "done")
    assert browser.get(f"/exercises/{secret.id}").status_code == 200


def test_players_do_not_see_the_plan_details(world, browser):
    browser.login("analyst")
    body = browser.get(f"/api/v1/exercises/{world.exercise_a.id}").get_json()
    assert "seed" not in body and "trusted_agents" not in body
    browser.login("manager")
    body = browser.get(f"/api/v1/exercises/{world.exercise_a.id}").get_json()
    assert "seed" in body
