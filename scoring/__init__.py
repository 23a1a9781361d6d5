"""Scoring contract v1: timings, triage, tickets, damage, skills, cohesion.

Pure Python, plain data in and out; never imports Flask, ``socdrill`` or ``siem``.
"""
