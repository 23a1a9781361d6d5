"""Names the scenario language, the engine and the console share.

Response actions analysts can take, the conditions a stage's ``requires`` can test,
crisis channels, tiers and difficulties. One place, so the validator's "did you mean"
and the engine agree.
"""

from __future__ import annotations

# action -> the role kind it targets
RESPONSE_ACTIONS: dict[str, str] = {
    "isolate_host": "host",
    "release_host": "host",
    "disable_account": "user",
    "enable_account": "user",
    "reset_password": "user",
    "block_ip": "external_ip",
    "unblock_ip": "external_ip",
    "block_domain": "domain",
    "unblock_domain": "domain",
    "kill_process": "host",
    "quarantine_file": "host",
    "revoke_sessions": "user",
    "disable_access_key": "user",
}

# condition -> the response action that breaks it
CONDITIONS: dict[str, str] = {
    "host_online": "isolate_host",
    "account_enabled": "disable_account",
    "password_unchanged": "reset_password",
    "not_blocked": "block_ip|block_domain",
    "key_active": "disable_access_key",
    "sessions_valid": "revoke_sessions",
}

CRISIS_CHANNELS = ("phone", "email", "media", "customer", "regulator", "management")
TIERS = ("P1", "P2", "P3", "P4")
DIFFICULTIES = ("easy", "medium", "hard", "expert")
SCOPES = ("windows", "linux", "network", "cloud", "identity", "email", "web", "ot")
