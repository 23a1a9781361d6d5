"""The exercise engine: the ticker that plays scenarios into the SIEM.

One ticker per installation (a leader lock makes a second one wait) computes from
the database what is due (stages, crisis messages, background noise), writes it
into the SIEM with its ground truth kept apart, runs streaming detection and
records a journal event for every change. Everything it needs to resume is in the
database, so a crash and restart neither loses nor repeats anything.

The modules: :mod:`~socdrill.engine.ticker` (the tick and its scheduler),
:mod:`~socdrill.engine.play` (a scenario replayed against the response history),
:mod:`~socdrill.engine.delivery` (into the SIEM), :mod:`~socdrill.engine.actions`
(response actions), :mod:`~socdrill.engine.crisis` (the crisis inbox),
:mod:`~socdrill.engine.live` (live background noise), :mod:`~socdrill.engine.dry_run`,
:mod:`~socdrill.engine.scoring_input` and :mod:`~socdrill.engine.lock`.

This package module stays free of imports so the exercise code can use the
failpoints without loading the engine.
"""
