"""Sandbox SIEM: event store, Sigma detection, search, import and forwarding.

Pure Python over SQLAlchemy Core: never imports Flask or ``socdrill``.
"""
