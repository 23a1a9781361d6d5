"""The scenario language: model, safe loader, validator, templates, ATT&CK catalogue.

Pure Python; never imports Flask, ``socdrill`` or ``siem``.
"""

from simulator.scenario.loader import Limits, load_scenario, parse_yaml
from simulator.scenario.model import Scenario, Stage, json_schema
from simulator.scenario.problems import Problem, ScenarioError
from simulator.scenario.validate import validate

__all__ = [
    "Limits",
    "Problem",
    "Scenario",
    "ScenarioError",
    "Stage",
    "json_schema",
    "load_scenario",
    "parse_yaml",
    "validate",
]
