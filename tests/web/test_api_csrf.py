"""Every console, API and live-view route: CSRF on every state change (JSON too),
nothing changes on GET, the allow-table decides who gets in, and the OpenAPI
document describes every API operation from its pydantic schemas."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from socdrill import rbac
from socdrill.api.operations import REGISTRY
from socdrill.api.schemas.incidents import IncidentUpdate
from socdrill.auth.tokens import issue_token
from socdrill.database import write_transaction
from socdrill.extensions import db
from socdrill.models import Incident, KbArticle, Role, SavedSearch, User
from tests.web import test_console_support as support
from tests.web.test_console_support import Api, signed_in

cworld = support.cworld
api_as = support.api_as
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_MESSAGE = b"security token is missing or stale"
OURS = ("console.", "api.", "api_docs.", "control.live")
ROLE_USERS = {
    Role.ANALYST: "acme-analyst",
    Role.LEAD: "acme-lead",
    Role.MANAGER: "acme-manager",
}


def database_dump() -> dict[str, list[tuple]]:
    dump = {}
    for name, table in db.metadata.tables.items():
        rows = db.session.execute(sa.select(table)).all()
        dump[name] = sorted(tuple(map(str, row)) for row in rows)
    return dump


@pytest.fixture
def populated(cworld, api_as):
    """One of everything, so every URL of ours has a real object behind it."""
    api = api_as("acme-analyst")
    incident = api.post(
        "/api/v1/alerts/escalate",
        {"alert_ids": cworld.alert_ids["a"][:1], "title": "Spraying"},
    ).get_json()["data"]["incident_id"]
    api.patch(f"/api/v1/incidents/{incident}", {"context": "c"})
    report = api.post(
        f"/api/v1/incidents/{incident}/reports", {"recipient": "a@b.example"}
    ).get_json()["data"]["report_id"]
    article = api.post("/api/v1/kb", {"title": "t", "scope": "windows"}).get_json()[
        "data"
    ]["article_id"]
    saved = api.post("/api/v1/saved-searches", {"name": "s", "query": "*"}).get_json()[
        "data"
    ]["saved_search_id"]
    delivery = (
        api_as("acme-manager")
        .post(
            f"/api/v1/exercises/{cworld.a.exercise_id}/crisis",
            {"channel": "phone", "sender": "CEO", "message": "Call me"},
        )
        .get_json()["data"]["delivery_id"]
    )
    event = api.get("/api/v1/search", q="*").get_json()["events"][0]["id"]
    db.session.expire_all()
    assert db.session.get(Incident, incident) and db.session.get(KbArticle, article)
    assert db.session.get(SavedSearch, saved)
    return {
        "alert_id": cworld.alert_ids["a"][0],
        "incident_id": incident,
        "report_id": report,
        "article_id": article,
        "saved_search_id": saved,
        "delivery_id": delivery,
        "event_id": event,
        "exercise_id": cworld.a.exercise_id,
    }


def our_routes(app, arguments):
    adapter = app.url_map.bind("localhost")
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(OURS):
            continue
        if rule.endpoint.startswith("api.") and rule.endpoint in (
            "api.me",
            "api.exercises",
            "api.exercise",
            "api.exercise_events",
        ):
            continue
        url = adapter.build(rule.endpoint, {k: arguments[k] for k in rule.arguments})
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, url))
    return out


def allowed_user(endpoint: str) -> str | None:
    roles = rbac.ALLOW[endpoint]
    if roles is rbac.PUBLIC:
        return "acme-analyst"
    for role, username in ROLE_USERS.items():
        if role in roles:
            return username
    return None


def test_every_state_change_of_ours_refuses_a_request_without_the_token(app, populated):
    routes = [r for r in our_routes(app, populated) if r[1] in MUTATING]
    assert len(routes) >= 28
    browsers = {}
    for endpoint, method, url in routes:
        username = allowed_user(endpoint)
        assert username is not None, endpoint
        browser = browsers.setdefault(username, signed_in(app, username))
        db.session.expire_all()
        before = database_dump()
        for attempt in (
            {},
            {"json": {}},
            {"json": {"alert_ids": [1]}, "headers": {"X-CSRFToken": "forged"}},
            {"data": {"csrf_token": "forged"}},
        ):
            response = browser.client.open(url, method=method, **attempt)
            assert response.status_code == 403, (endpoint, attempt)
            assert CSRF_MESSAGE in response.data, endpoint
            if url.startswith("/api/"):
                assert response.get_json()["error"]["code"] == "csrf"
        db.session.expire_all()
        assert database_dump() == before, endpoint


@pytest.mark.parametrize("username", ["acme-analyst", "acme-manager", "acme-lead"])
def test_get_requests_of_ours_change_nothing(app, populated, username):
    browser = signed_in(app, username)
    db.session.expire_all()
    before = database_dump()
    for endpoint, method, url in our_routes(app, populated):
        if method == "GET":
            response = browser.client.get(url)
            response.get_data()
            assert response.status_code < 500, (endpoint, response.data[:300])
    db.session.expire_all()
    assert database_dump() == before


@pytest.mark.parametrize("role", list(ROLE_USERS))
def test_the_allow_table_decides_for_every_route_of_ours(app, populated, role):
    browser = signed_in(app, ROLE_USERS[role])
    for endpoint, method, url in our_routes(app, populated):
        if method != "GET":
            continue
        response = browser.client.get(url)
        response.get_data()
        if rbac.allowed(endpoint, role):
            assert response.status_code not in (401, 403), (endpoint, role)
        else:
            assert response.status_code == 403, (endpoint, role)


def test_an_api_token_needs_no_csrf_token_and_an_unknown_one_is_refused(
    app, cworld, api_as
):
    analyst = db.session.scalar(sa.select(User).where(User.username == "acme-analyst"))
    with write_transaction():
        _row, secret = issue_token(db.session.merge(analyst), "console tests")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    response = client.post(
        "/api/v1/alerts/ack", json={"alert_ids": cworld.alert_ids["a"]}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    bad = client.get("/api/v1/alerts", headers={"Authorization": "Bearer sdt_wrong"})
    assert bad.status_code == 401
    assert bad.get_json()["error"]["code"] == "unauthenticated"


def test_the_openapi_document_covers_every_api_operation(app, client):
    document = client.get("/api/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    documented = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
    }
    registered = {(op.method, op.path) for op in REGISTRY}
    assert registered <= documented
    api_rules = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
    } - {"api.me", "api.exercises", "api.exercise", "api.exercise_events"}
    assert api_rules == {op.endpoint for op in REGISTRY if op.blueprint == "api"}
    schemas = document["components"]["schemas"]
    for op in REGISTRY:
        operation = document["paths"][op.path][op.method.lower()]
        if op.body is not None:
            ref = operation["requestBody"]["content"]["application/json"]["schema"]
            assert ref == {"$ref": f"#/components/schemas/{op.body.__name__}"}
            assert schemas[op.body.__name__]["additionalProperties"] is False
        assert "422" in operation["responses"] or (op.body is None and op.query is None)


def test_the_documented_schemas_are_the_pydantic_schemas(client):
    schemas = client.get("/api/openapi.json").get_json()["components"]["schemas"]
    expected = IncidentUpdate.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    expected.pop("$defs", None)
    assert schemas["IncidentUpdate"] == expected
    assert set(schemas["Error"]["properties"]["error"]["required"]) == {
        "code",
        "message",
        "fields",
    }


def test_unauthenticated_api_calls_get_a_json_error(client):
    response = client.get("/api/v1/alerts")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"


def test_an_api_call_as_a_signed_in_api_client_works(app, cworld):
    api = Api(signed_in(app, "acme-analyst"))
    assert api.get("/api/v1/alerts").status_code == 200
