"""Pydantic schemas of the JSON API: what each operation accepts and answers.

Input models forbid unknown fields, so a request cannot smuggle ``role``,
``tenant_id``, ``exercise_id`` or ``score`` into an object.
"""
