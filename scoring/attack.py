"""B4.4 ATT&CK tagging with partial credit.

Sub-techniques collapse to their parent. A reported technique earns 1 for the same
technique, 0.5 for a different technique of a shared tactic, 0 otherwise. Each truth
technique and each reported technique is credited at most once: the credit is the
best one-to-one matching (exact matches first, then as many same-tactic pairs as
possible). With that matching ``Recall = credit/|T_true|`` and
``Precision = credit/|T_rep|``; ``ATTACK = F1``. The matching is what reproduces the
published worked example: with a per-technique maximum, Valid Accounts (T1078, also
an Initial Access technique) would take half credit from the phishing technique that
was already matched exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def parent(technique: str) -> str:
    """``T1003.001`` → ``T1003``."""
    return technique.split(".", 1)[0].upper()


def _tactics(
    technique: str, catalogue: Mapping[str, Iterable[str]], fallback: Iterable[str] = ()
) -> frozenset[str]:
    known = catalogue.get(technique) or catalogue.get(parent(technique))
    return frozenset(known if known is not None else fallback)


def attack_score(
    truth: Mapping[str, Iterable[str]],
    reported: Iterable[str],
    catalogue: Mapping[str, Iterable[str]],
) -> dict[str, object]:
    """Score reported technique ids against ``truth`` (technique → its tactics as the
    scenario states them; the catalogue is consulted first)."""
    true_tactics: dict[str, frozenset[str]] = {}
    for tech, tactics in truth.items():
        key = parent(tech)
        true_tactics[key] = true_tactics.get(key, frozenset()) | _tactics(
            tech, catalogue, tactics
        )
    rep = {parent(t) for t in reported}
    rep_tactics = {t: _tactics(t, catalogue) for t in rep}
    exact = true_tactics.keys() & rep
    open_truth = [t for t in sorted(true_tactics) if t not in exact]
    open_rep = [r for r in sorted(rep) if r not in exact]
    # Maximum bipartite matching on "shares a tactic" (Kuhn's augmenting paths).
    match_of_rep: dict[str, str] = {}

    def augment(t: str, seen: set[str]) -> bool:
        for r in open_rep:
            if r in seen or not (true_tactics[t] & rep_tactics[r]):
                continue
            seen.add(r)
            if r not in match_of_rep or augment(match_of_rep[r], seen):
                match_of_rep[r] = t
                return True
        return False

    for t in open_truth:
        augment(t, set())
    credit = len(exact) + 0.5 * len(match_of_rep)
    recall = credit / len(true_tactics) if true_tactics else 0.0
    precision = credit / len(rep) if rep else 0.0
    f1 = (
        0.0
        if precision + recall == 0
        else 2 * precision * recall / (precision + recall)
    )
    credits = {r: 1.0 if r in exact else 0.5 if r in match_of_rep else 0.0 for r in rep}
    return {
        "score": f1,
        "precision": precision,
        "recall": recall,
        "credit": dict(sorted(credits.items())),
        "missed": [t for t in sorted(true_tactics) if t not in exact],
    }
