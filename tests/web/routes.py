"""Every route of the app with concrete URLs, for tests that walk them all."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask

from socdrill.extensions import db
from socdrill.models import Membership


@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str
    url: str


def route_arguments(world) -> dict[str, object]:
    membership = db.session.scalar(
        sa.select(Membership.id).where(Membership.user_id == world.analyst.id)
    )
    return {
        "exercise_id": world.exercise_a.id,
        "user_id": world.analyst.id,
        "team_id": world.team_a.id,
        "tenant_id": world.tenant_a.id,
        "membership_id": membership,
        "token_id": 1,
        "filename": "css/socdrill.css",
        # Console objects: id 1 of each (missing objects answer 404, which is enough
        # for the route, CSRF and header checks that walk every route).
        "alert_id": 1,
        "incident_id": 1,
        "report_id": 1,
        "article_id": 1,
        "saved_search_id": 1,
        "delivery_id": 1,
        "event_id": 1,
    }


def all_routes(app: Flask, world) -> list[Route]:
    """One concrete request per (rule, method), HEAD and OPTIONS left out."""
    arguments = route_arguments(world)
    adapter = app.url_map.bind("localhost")
    routes = []
    for rule in app.url_map.iter_rules():
        values = {name: arguments[name] for name in rule.arguments}
        url = adapter.build(rule.endpoint, values)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append(Route(rule.endpoint, method, url))
    return routes


def fetch(client, route: Route, **kwargs):
    """Send one request and close the response (static files hold a file open)."""
    response = client.open(route.url, method=route.method, **kwargs)
    response.get_data()
    response.close()
    return response
