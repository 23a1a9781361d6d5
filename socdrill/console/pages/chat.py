"""The team channel page and its message list fragment."""

from __future__ import annotations

from flask import render_template, request, url_for

from socdrill.console import bp, chat
from socdrill.console.scope import me, team_by_name, team_members, teams_of


def _links(body: str) -> object:
    return chat.render(
        body,
        alert_url=url_for("console.alert", alert_id=0),
        incident_url=url_for("console.incident", incident_id=0),
    )


@bp.get("/console/chat", endpoint="chat")
def channel() -> str:
    user = me()
    team = team_by_name(request.args.get("team", ""), user)
    return render_template(
        "console/chat.html",
        team=team,
        teams=teams_of(user),
        members=team_members(team),
        messages=chat.messages(team),
        render=_links,
    )


@bp.get("/console/chat/messages")
def chat_messages() -> str:
    team = team_by_name(request.args.get("team", ""), me())
    return render_template(
        "console/_chat_messages.html", messages=chat.messages(team), render=_links
    )
