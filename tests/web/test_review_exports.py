"""CSV and JSON exports of every review table: marked as exercise data, safe to
open in a spreadsheet, and refused with a clear error for unknown tables."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest

from tests.web.conftest import Browser
from tests.web.test_review_support import ReviewWorld

DEBRIEF_TABLES = (
    "components",
    "stages",
    "kpis",
    "triage",
    "damage",
    "crisis",
    "missed",
    "strengths",
    "areas",
    "cohesion",
    "coverage",
    "points",
    "skills",
    "grades",
    "corrective_actions",
    "contests",
)


@pytest.fixture
def scored(app, world) -> int:
    review = ReviewWorld(app, world)
    exercise = review.end(world.exercise_a)
    assert _signed_in(app, "lead").post(f"/review/exercises/{exercise.id}/score")
    return exercise.id


def _signed_in(app, username: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.login(username).status_code == 302
    return browser


@pytest.mark.parametrize("table", DEBRIEF_TABLES)
def test_every_debrief_table_exports_as_csv_and_json_with_the_marker(
    app, scored, table
):
    browser = _signed_in(app, "lead")
    url = f"/review/exercises/{scored}/export?table={table}"
    as_csv = browser.get(url + "&format=csv")
    assert as_csv.status_code == 200
    assert as_csv.mimetype == "text/csv"
    assert as_csv.headers["X-Exercise-Id"] == str(scored)
    disposition = as_csv.headers["Content-Disposition"]
    assert f'filename="EXERCISE-exercise-{scored}-{table}.csv"' in disposition
    rows = list(csv.reader(io.StringIO(as_csv.get_data(as_text=True))))
    assert rows[0][0].startswith("[EXERCISE]")
    as_json = browser.get(url + "&format=json").get_json()
    assert as_json["marker"] == "[EXERCISE]"
    assert rows[1] == [column["key"] for column in as_json["columns"]]
    assert len(rows) - 2 == len(as_json["rows"])


def test_the_stage_export_holds_the_same_numbers_as_the_page(app, scored):
    body = (
        _signed_in(app, "lead")
        .get(f"/review/exercises/{scored}/export?table=stages&format=json")
        .get_json()
    )
    s2 = next(row for row in body["rows"] if row["stage"] == "S2")
    assert s2["tta"] == 24.0 and s2["sla_ack"] == 15
    assert s2["ttd"] == 40.0 and s2["score_detect"] == pytest.approx(0.794, abs=1e-3)


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_quoted(app, scored):
    browser = _signed_in(app, "lead")
    browser.post(
        f"/review/exercises/{scored}/actions",
        {
            "action": '=HYPERLINK("http://attacker.example","x")',
            "owner": "analyst",
            "due_date": (date.today() + timedelta(days=7)).isoformat(),
        },
    )
    text = browser.get(
        f"/review/exercises/{scored}/export?table=corrective_actions&format=csv"
    ).get_data(as_text=True)
    row = list(csv.reader(io.StringIO(text)))[2]
    assert row[0].startswith("'=HYPERLINK")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("table=nonsense&format=csv", "table"),
        ("table=stages&format=xlsx", "format"),
        ("format=csv", "table"),
        ("table=../../etc&format=csv", "table"),
        ("table=stages&format=csv&everything=1", "everything"),
    ],
)
def test_a_malformed_export_request_is_refused(app, scored, query, field):
    response = _signed_in(app, "lead").get(
        f"/api/v1/review/exercises/{scored}/export?{query}"
    )
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert any(field in key for key in fields), fields


def test_an_unknown_table_is_named_with_the_tables_there_are(app, scored):
    response = _signed_in(app, "analyst").get(
        f"/api/v1/review/exercises/{scored}/export?table=cohesion"
    )
    message = response.get_json()["error"]["message"]
    assert "tables you can export" in message and "points" in message
    assert "cohesion" not in message.split("export:")[1]


def test_before_scoring_only_the_stored_records_export(app, world):
    review = ReviewWorld(app, world)
    exercise = review.end(world.exercise_a)
    browser = _signed_in(app, "manager")
    ok = browser.get(f"/review/exercises/{exercise.id}/export?table=grades&format=csv")
    assert ok.status_code == 200
    missing = browser.get(f"/review/exercises/{exercise.id}/export?table=stages")
    assert missing.status_code == 422
