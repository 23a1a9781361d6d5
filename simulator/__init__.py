"""Scenario language, synthetic organisation, sensors, noise and attack timelines.

Pure Python: never imports Flask, ``socdrill`` or ``siem``.
"""
