"""Crisis communication: how the team answered the scenario's crisis messages.

Reported beside the team exercise score, never inside it: contract v1 fixes the five
TES components, and whether a reply was *good* is the controller's judgement, graded
in the debrief. What the log can tell is measured: when each message was shown to
the team, when the first reply came (active time, pauses removed), and that response
time on the B3 point curve against the ``reply_within`` the scenario expects. Like
the SLAs, that target is operational time and is not scaled by the speed factor.

Messages control still held at ENDEX were never shown and are listed apart. Who
replied is not part of this team-level section.
"""

from __future__ import annotations

from typing import Any

from scoring.context import Context
from scoring.curves import time_score
from scoring.stats import quantile


def crisis_communication(ctx: Context) -> dict[str, Any]:
    """Per message: shown, first reply, response time, target and time score."""
    clock = ctx.exercise.clock
    first_reply: dict[str, float] = {}
    for item in ctx.activity:
        if item.row.action == "crisis_reply":
            for target in item.row.targets:
                first_reply.setdefault(target, item.t)
    messages: list[dict[str, Any]] = []
    held: list[str] = []
    for message in ctx.exercise.crisis:
        if message.shown_at is None or clock.active_at(message.shown_at) > ctx.t_end:
            held.append(message.id)
            continue
        shown = clock.active_at(message.shown_at)
        replied = first_reply.get(message.id)
        response = None if replied is None else max(0.0, replied - shown)
        target = message.reply_within
        messages.append(
            {
                "id": message.id,
                "channel": message.channel,
                "from": message.sender,
                "t_shown": shown,
                "t_reply": replied,
                "response_time": response,
                "reply_within": target,
                "within_target": _within(response, target),
                "score": None if target is None else time_score(response, target),
            }
        )
    judged = [m for m in messages if m["reply_within"] is not None]
    times = [m["response_time"] for m in messages if m["response_time"] is not None]
    return {
        "messages": messages,
        "not_shown": held,
        "shown": len(messages),
        "answered": sum(m["t_reply"] is not None for m in messages),
        "within_target": sum(bool(m["within_target"]) for m in judged),
        "judged": len(judged),
        "score": (sum(m["score"] for m in judged) / len(judged) if judged else None),
        "median_response": quantile(times, 0.5),
    }


def _within(response: float | None, target: float | None) -> bool | None:
    if target is None:
        return None
    return response is not None and response <= target


def crisis_findings(section: dict[str, Any]) -> list[str]:
    """After-action seeds: unanswered messages and replies over their target."""
    found = []
    for message in section["messages"]:
        if message["t_reply"] is None:
            found.append(
                f"crisis message {message['id']} ({message['from']}) unanswered"
            )
        elif message["within_target"] is False:
            over = (message["response_time"] - message["reply_within"]) / 60
            found.append(
                f"crisis message {message['id']} answered {over:.0f} min over target"
            )
    return found
