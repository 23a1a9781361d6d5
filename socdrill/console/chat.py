"""The team channel: messages with @mentions and links to alerts and incidents.

A message is stored whole for the team; the activity log gets metadata only (what
it referred to and whom it mentioned), never the text.
"""

from __future__ import annotations

import ipaddress
import re

import sqlalchemy as sa
from markupsafe import Markup, escape

from socdrill.console.activity import Done, Recorder
from socdrill.console.errors import Invalid
from socdrill.console.scope import exercise_in_play_for_team, team_by_name, team_members
from socdrill.exercise import journal
from socdrill.extensions import db
from socdrill.models import ChatMessage, Team

# alert:12 / alert #12 → an alert; INC-7 → an incident; @name → a person;
# `SRV-FS1` → an entity quoted by the analyst; plain IPv4 addresses.
TOKEN = re.compile(
    r"(?P<alert>\balert\s?[:#]\s?(?P<alert_id>\d{1,12})\b)"
    r"|(?P<incident>\bINC-(?P<incident_id>\d{1,12})\b)"
    r"|(?P<mention>(?<![\w@])@(?P<username>[A-Za-z0-9._-]{1,64}))"
    r"|(?P<quoted>`(?P<entity>[^`\s]{1,128})`)"
    r"|(?P<ip>\b\d{1,3}(?:\.\d{1,3}){3}\b)",
    re.IGNORECASE,
)
PAGE = 100


def _tokens(body: str, members: set[str]) -> tuple[list[str], list[str], list[str]]:
    """(mentioned usernames, alert/incident refs, entity refs) found in ``body``."""
    mentions: list[str] = []
    refs: list[str] = []
    entities: list[str] = []
    for match in TOKEN.finditer(body):
        if match["alert"]:
            refs.append(f"alert:{int(match['alert_id'])}")
        elif match["incident"]:
            refs.append(f"incident:{int(match['incident_id'])}")
        elif match["mention"]:
            name = match["username"].rstrip(".").lower()
            if name in members:
                mentions.append(name)
        elif match["quoted"]:
            entities.append(match["entity"])
        elif match["ip"]:
            try:
                entities.append(str(ipaddress.ip_address(match["ip"])))
            except ValueError:
                continue
    unique = lambda items: list(dict.fromkeys(items))  # noqa: E731
    return unique(mentions), unique(refs), unique(entities)


def post(recorder: Recorder, team_name: str | None, body: str) -> Done:
    """Post to a team channel (the actor's first team when none is named)."""
    if not body.strip():
        raise Invalid("the message is empty", {"body": "required"})
    actor = recorder.actor
    team = team_by_name(team_name, actor)
    members = {member.username for member in team_members(team)}
    mentions, refs, entities = _tokens(body, members)
    message = ChatMessage(
        team_id=team.id, author_id=actor.id, body=body, mentions=mentions, refs=refs
    )
    db.session.add(message)
    db.session.flush()
    exercise = exercise_in_play_for_team(team.id)
    # The team's pages refresh on this; the text itself is fetched over HTTP.
    journal.append_room_event(
        journal.team_room(team.id),
        "chat.new",
        {"message_id": message.id, "kind": "message"},
        exercise_id=exercise.id if exercise else None,
    )
    targets = [
        ref.split(":", 1)[1] if ref.startswith("alert:") else _inc(ref) for ref in refs
    ]
    recorder.record(
        exercise,
        "chat",
        [*targets, *entities],
        target_type="chat",
        fields={"mentions": mentions, "message_id": message.id},
    )
    return Done("message posted", {"message_id": message.id, "team": team.name})


def _inc(ref: str) -> str:
    return f"INC-{ref.split(':', 1)[1]}"


def messages(team: Team, *, after_id: int = 0, limit: int = PAGE) -> list[ChatMessage]:
    """The latest messages of ``team`` after ``after_id``, oldest first."""
    rows = db.session.scalars(
        sa.select(ChatMessage)
        .where(ChatMessage.team_id == team.id, ChatMessage.id > after_id)
        .order_by(ChatMessage.id.desc())
        .limit(limit)
    )
    return list(reversed(list(rows)))


def render(body: str, alert_url: str, incident_url: str) -> Markup:
    """The message as HTML: escaped text with links for alerts, incidents, people.

    ``alert_url`` and ``incident_url`` end with ``0`` where the id goes.
    """
    alert_prefix = alert_url.removesuffix("0")
    incident_prefix = incident_url.removesuffix("0")
    out: list[str] = []
    last = 0
    for match in TOKEN.finditer(body):
        out.append(str(escape(body[last : match.start()])))
        text = escape(match.group(0))
        if match["alert"]:
            href = escape(f"{alert_prefix}{int(match['alert_id'])}")
            out.append(f'<a href="{href}">{text}</a>')
        elif match["incident"]:
            href = escape(f"{incident_prefix}{int(match['incident_id'])}")
            out.append(f'<a href="{href}">{text}</a>')
        elif match["mention"]:
            out.append(f'<strong class="mention">{text}</strong>')
        elif match["quoted"]:
            out.append(f"<code>{escape(match['entity'])}</code>")
        else:
            out.append(str(text))
        last = match.end()
    out.append(str(escape(body[last:])))
    return Markup("".join(out))  # noqa: S704  (every piece above is escaped)
