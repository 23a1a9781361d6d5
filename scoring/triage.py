"""B4.1 alert triage: false negatives weigh five times a false positive.

``Triage = 1 − (w_FN·(FN + ½U_P) + w_FP·(FP + ½U_N)) / (w_FN·P + w_FP·N)``; an alert's
disposition is its last verdict before ENDEX. Both FP-rate definitions are reported
so the number is never ambiguous.
"""

from __future__ import annotations

from scoring.context import Context, norm
from scoring.model import VERDICTS


def final_verdicts(ctx: Context) -> dict[str, tuple[bool, str, float]]:
    """Alert id (normalised) → (malicious?, actor, active time) of its last verdict."""
    out: dict[str, tuple[bool, str, float]] = {}
    for item in ctx.activity:
        row = item.row
        if row.action == "verdict":
            malicious = VERDICTS[row.fields["verdict"]]
            for target in row.targets:
                out[norm(target)] = (malicious, row.actor, item.t)
    return out


def triage_score(ctx: Context) -> dict[str, object]:
    """Confusion counts, the weighted score (None without alerts) and FP rates."""
    settings = ctx.settings
    verdicts = final_verdicts(ctx)
    tp = fn = fp = tn = u_p = u_n = 0
    for alert_id, alert in ctx.alerts.items():
        verdict = verdicts.get(norm(alert_id))
        attack = alert.stage is not None
        if verdict is None:
            u_p += attack
            u_n += not attack
        elif attack:
            tp += verdict[0]
            fn += not verdict[0]
        else:
            fp += verdict[0]
            tn += not verdict[0]
    positives = tp + fn + u_p
    negatives = fp + tn + u_n
    denom = settings.w_fn * positives + settings.w_fp * negatives
    score = None
    if denom:
        loss = settings.w_fn * (fn + 0.5 * u_p) + settings.w_fp * (fp + 0.5 * u_n)
        score = 1.0 - loss / denom
    return {
        "score": score,
        "attack_alerts": positives,
        "benign_alerts": negatives,
        "tp": tp,
        "fn": fn,
        "fp": fp,
        "tn": tn,
        "unhandled_attack": u_p,
        "unhandled_benign": u_n,
        "fp_rate_of_benign": fp / negatives if negatives else None,
        "fp_share_of_escalations": fp / (tp + fp) if tp + fp else None,
    }
