"""HR rules: who sees what of a score document."""

from __future__ import annotations

import pytest

from scoring import TeamMember, score_exercise
from scoring.hr import FIELD_CLASSES, aggregate, view_for
from tests.unit.scoring import worked_example as b9


@pytest.fixture(scope="module")
def document():
    return score_exercise(b9.exercise(), skill_states=b9.a2_prior())


def test_every_document_field_has_a_class(document):
    assert set(document) <= set(FIELD_CLASSES)


def test_an_analyst_sees_the_team_profile_and_only_their_own_individual_data(document):
    view = view_for(document, "analyst", viewer="A2")
    assert set(view["individual"]) == {"A2"}
    assert "tes" in view and "coverage" not in view


def test_a_lead_sees_everything(document):
    assert view_for(document, "lead") == document


def test_hr_sees_no_team_numbers_for_a_team_under_five_and_no_individuals(document):
    view = view_for(document, "hr")
    assert "tes" not in view and "cohesion" not in view and "individual" not in view
    assert "coverage" in view


def test_hr_sees_team_aggregates_for_five_people_and_individuals_on_request():
    team = tuple(TeamMember(f"p{i}", "L1") for i in range(5))
    doc = score_exercise(b9.exercise(team=team))
    view = view_for(doc, "hr")
    assert "tes" in view and "cohesion" in view and "individual" not in view
    assert "individual" in view_for(doc, "hr", justified_request=True)


def test_unknown_roles_see_only_metadata(document):
    assert set(view_for(document, "visitor")) <= {
        k for k, v in FIELD_CLASSES.items() if v == "meta"
    }


def test_aggregates_are_suppressed_below_five_people():
    assert aggregate({"a": 1, "b": 2, "c": 3, "d": 4})["suppressed"]
    shown = aggregate({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    assert shown["mean"] == 3 and shown["median"] == 3
