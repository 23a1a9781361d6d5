"""Admin pages: accounts, roles and grants, teams with history, shifts, tenants."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from socdrill.extensions import db
from socdrill.models import AuditEntry, Membership, Role, Shift, Team, Tenant, User
from tests.web.conftest import Browser


@pytest.fixture
def admin(world, browser) -> Browser:
    browser.login("admin")
    return browser


def last_audit(action: str) -> AuditEntry:
    db.session.commit()
    return db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    ).all()[-1]


def test_creating_an_account_shows_its_password_once(admin, world, new_browser):
    response = admin.post(
        "/admin/users",
        {
            "username": "nina",
            "display_name": "Nina",
            "role": "analyst",
            "team_id": str(world.team_a.id),
            "job": "l1_monitoring",
        },
    )
    assert response.status_code == 200
    password = re.search(rb'<code class="token">([^<]+)</code>', response.data)
    assert password
    assert password.group(1) not in admin.get("/admin/users").data
    assert new_browser().login("nina", password.group(1).decode()).status_code == 302


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"username": "x", "role": "analyst"}, b"2-64 characters"),
        ({"username": "analyst", "role": "analyst"}, b"taken"),
        ({"username": "olga", "role": "superuser"}, b"unknown role"),
        ({"username": "olga", "role": "analyst", "team_id": "999"}, b"does not exist"),
        (
            {"username": "olga", "role": "analyst", "team_id": "1", "job": "boss"},
            b"unknown job",
        ),
    ],
)
def test_bad_accounts_are_refused_and_nothing_is_created(admin, fields, message):
    before = db.session.scalar(sa.select(sa.func.count(User.id)))
    response = admin.post("/admin/users", fields)
    assert response.status_code == 303
    assert message in admin.get(response.headers["Location"]).data
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == before


def test_role_and_launch_grant_changes_are_audited(admin, world):
    user_id = world.analyst.id
    admin.post(f"/admin/users/{user_id}", {"role": "lead", "can_launch": "1"})
    db.session.expire_all()
    user = db.session.get(User, user_id)
    assert user.role == Role.LEAD and user.can_launch
    assert last_audit("user.role").detail == {"from": "analyst", "to": "lead"}
    assert last_audit("user.launch_grant").actor_name == "admin"


def test_disabling_an_account_signs_it_out_everywhere(admin, world, new_browser):
    victim = new_browser()
    victim.login("analyst")
    assert victim.get("/dashboard").status_code == 200
    admin.post(f"/admin/users/{world.analyst.id}", {"active": "0"})
    assert victim.get("/dashboard").status_code == 302
    assert victim.login("analyst").status_code == 401


def test_an_admin_cannot_demote_or_disable_themselves(admin, world):
    response = admin.post_json(f"/admin/users/{world.admin.id}", {"role": "analyst"})
    assert response.status_code == 400
    assert "your own role" in response.get_json()["error"]
    response = admin.post(f"/admin/users/{world.admin.id}", {"active": "0"})
    assert b"disable yourself" in admin.get(response.headers["Location"]).data
    db.session.expire_all()
    assert db.session.get(User, world.admin.id).role == Role.ADMIN


def test_membership_changes_keep_history(admin, world):
    team_id = world.team_a.id
    admin.post(
        f"/admin/teams/{team_id}/members",
        {"username": "analyst", "job": "l2_investigation"},
    )
    db.session.commit()
    rows = db.session.scalars(
        sa.select(Membership)
        .where(Membership.user_id == world.analyst.id)
        .order_by(Membership.id)
    ).all()
    assert [(r.job.value, r.left_at is None) for r in rows] == [
        ("l1_monitoring", False),
        ("l2_investigation", True),
    ]
    admin.post(f"/admin/memberships/{rows[-1].id}/end")
    db.session.commit()
    assert db.session.get(Membership, rows[-1].id).left_at is not None
    page = admin.get(f"/admin/teams/{team_id}").get_data(as_text=True)
    assert page.count("analyst (analyst)") == 2  # both stints are listed


def test_teams_shifts_and_tenant_assignment(admin):
    response = admin.post("/admin/teams", {"name": "Night Owls"})
    assert response.status_code == 303
    db.session.commit()
    team = db.session.scalar(sa.select(Team).where(Team.name == "Night Owls"))
    admin.post(
        f"/admin/teams/{team.id}/shifts",
        {"name": "Night", "start": "22:00", "end": "06:00", "on_call": "1"},
    )
    admin.post(
        "/admin/tenants", {"slug": "acme", "name": "Acme", "retention_days": "90"}
    )
    db.session.commit()
    tenant = db.session.scalar(sa.select(Tenant).where(Tenant.slug == "acme"))
    assert tenant.retention_days == 90 and not tenant.live
    admin.post(
        f"/admin/teams/{team.id}/tenants",
        {"tenant_id": str(tenant.id), "assigned": "1"},
    )
    db.session.expire_all()
    shift = db.session.scalar(sa.select(Shift).where(Shift.team_id == team.id))
    assert (shift.start_minute, shift.end_minute, shift.on_call) == (1320, 360, True)
    assert tenant in db.session.get(Team, team.id).tenants
    admin.post(f"/admin/tenants/{tenant.id}", {"live": "1", "retention_days": "30"})
    db.session.expire_all()
    assert tenant.live and tenant.retention_days == 30


@pytest.mark.parametrize(
    ("url", "fields", "message"),
    [
        ("/admin/tenants", {"slug": "Bad Slug", "name": "x"}, b"slug"),
        (
            "/admin/tenants",
            {"slug": "ok-slug", "name": "x", "retention_days": "-3"},
            b"whole number",
        ),
        (
            "/admin/tenants",
            {"slug": "ok-slug", "name": "x", "noise_profile": "loud"},
            b"unknown noise",
        ),
        ("/admin/teams", {"name": ""}, b"1-80 characters"),
    ],
)
def test_bad_tenants_and_teams_are_refused(admin, url, fields, message):
    response = admin.post(url, fields)
    assert response.status_code == 303
    assert message in admin.get(response.headers["Location"]).data
    db.session.commit()
    assert db.session.scalar(sa.select(Tenant).where(Tenant.slug == "ok-slug")) is None


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "X", "start": "25:00", "end": "06:00"},
        {"name": "X", "start": "nine", "end": "06:00"},
        {"name": "", "start": "09:00", "end": "17:00"},
    ],
)
def test_bad_shifts_are_refused(admin, world, fields):
    admin.post(f"/admin/teams/{world.team_a.id}/shifts", fields)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(Shift.id))) == 0


def test_unknown_objects_answer_404(admin):
    assert admin.get("/admin/teams/999").status_code == 404
    assert admin.post("/admin/users/999", {"role": "lead"}).status_code == 404
