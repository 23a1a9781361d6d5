"""Input: parsers and schemas are total (a value or their own error, never another
exception), YAML bombs and oversized bodies are refused in bounded time and memory.

Already proven elsewhere and not repeated here: the scenario loader's totality and
its billion-laughs, depth, node and alias limits (tests/unit/scenario/test_loader.py)
and the search parser's (tests/unit/siem/test_search_safety.py).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import textwrap
import time

import pydantic
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siem.sigma import RuleSet, load_rules
from socdrill.api.schemas.common import Input
from socdrill.models import Role
from tests.conftest import ROOT
from tests.security.conftest import (
    MUTATING,
    all_rows,
    assert_unchanged,
    concrete_routes,
)

BILLION_LAUGHS = textwrap.dedent(
    """\
    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
    b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
    c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
    d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
    e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
    f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
    g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
    h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
    i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
    """
)
BOUNDED_SECONDS = 5.0
BOUNDED_MEMORY = 1024 * 1024 * 1024  # address space of the probe process

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
yamlish = st.lists(
    st.sampled_from(
        [
            "title: t\n",
            "logsource: {product: windows}\n",
            "detection:\n",
            "  sel: {EventID: 1}\n",
            "  condition: sel\n",
            "  condition: sel and not x\n",
            "correlation: {type: event_count, rules: [a]}\n",
            "id: 00000000-0000-0000-0000-000000000001\n",
            "---\n",
            "&a [*a]\n",
            "!!python/object/apply:os.system ['true']\n",
            "  sel|re: '(a+)+$'\n",
            "  sel|base64offset|contains: x\n",
            "- 1\n",
            "{",
        ]
    ),
    max_size=12,
).map("".join)


@PROPERTY
@given(st.one_of(st.text(max_size=300), yamlish))
def test_the_sigma_loader_reports_every_bad_rule_and_never_raises(text):
    loaded = load_rules([text])
    assert isinstance(loaded, RuleSet)
    for failure in loaded.failures:
        assert failure.reason and failure.message


def input_models() -> list[type[Input]]:
    import socdrill.api.schemas  # noqa: F401  (registers every schema)
    import socdrill.review.schemas  # noqa: F401

    found, todo = [], list(Input.__subclasses__())
    while todo:
        model = todo.pop()
        found.append(model)
        todo.extend(model.__subclasses__())
    return sorted(set(found), key=lambda model: model.__name__)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def test_there_are_api_schemas_to_check():
    assert len(input_models()) >= 25


@pytest.mark.parametrize("model", input_models(), ids=lambda m: m.__name__)
def test_every_api_schema_gives_a_model_or_a_validation_error(model):
    names = list(model.model_fields)

    @settings(max_examples=40, deadline=None)
    @given(
        st.one_of(
            json_values,
            st.fixed_dictionaries({}, optional=dict.fromkeys(names, json_values)),
        )
    )
    def check(value):
        with contextlib.suppress(pydantic.ValidationError):
            model.model_validate(value)

    check()


# --- YAML bombs, in a child process with a memory cap and a deadline --------------

PROBE = """
import resource, sys, time, json
resource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory}))
started = time.monotonic()
try:
{body}
    outcome = result
except MemoryError:
    outcome = "memory exhausted"
print(json.dumps({{"outcome": outcome, "seconds": time.monotonic() - started}}))
"""


def bounded(body: str, tmp_path) -> dict:
    """Run ``body`` (it sets ``result``) under a memory cap; fail past a deadline."""
    script = PROBE.format(memory=BOUNDED_MEMORY, body=textwrap.indent(body, "    "))
    try:
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=BOUNDED_SECONDS * 6,
            check=False,
            env={"PATH": "/usr/bin:/bin", "SOCDRILL_INSTANCE": str(tmp_path)},
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"not refused within {BOUNDED_SECONDS * 6} s")
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_billion_laughs_sigma_rule_is_refused_in_bounded_time(tmp_path):
    rule = BILLION_LAUGHS + "title: x\nlogsource: {product: windows}\n"
    rule += "detection: {sel: {CommandLine: *i}, condition: sel}\n"
    body = f"""
from siem.sigma import load_rules
loaded = load_rules([{rule!r}])
result = "refused" if loaded.failures and not loaded.rules else "accepted"
"""
    probe = bounded(body, tmp_path)
    assert probe["outcome"] == "refused", probe
    assert probe["seconds"] < BOUNDED_SECONDS, probe


@pytest.mark.slow
def test_a_billion_laughs_rule_exception_is_refused_in_bounded_time(tmp_path):
    """The rule-tuning page takes a Sigma selection as YAML from the lead."""
    exception = BILLION_LAUGHS + "CommandLine: *i\n"
    body = f"""
from tests.security.bomb_probe import post_rule_exception
result = post_rule_exception({exception!r})
"""
    answer = bounded(body, tmp_path)["outcome"]
    assert answer["status"] in (400, 413, 422), answer
    assert answer["seconds"] < BOUNDED_SECONDS, answer


def test_unsafe_yaml_tags_in_a_rule_exception_run_nothing(seeded, tmp_path):
    app, world = seeded
    canary = tmp_path / "canary"
    api = world.api(app, Role.LEAD)
    for payload in (
        f"!!python/object/apply:os.system ['touch {canary}']",
        f"x: !!python/object/new:os.system ['touch {canary}']",
        "x: !!python/name:os.system",
    ):
        response = api.post(
            "/api/v1/review/rules/try",
            {"rule_id": "any", "exception": payload},
        )
        assert response.status_code in (404, 422), response.status_code
    assert not canary.exists()
    with pytest.raises(yaml.constructor.ConstructorError):
        yaml.safe_load("!!python/object/apply:os.system ['true']")


def test_an_oversized_body_is_refused_before_any_route_reads_it(seeded):
    app, world = seeded
    browser = world.browser(app, Role.ADMIN)
    token = browser.csrf_token()
    limit = app.config["MAX_CONTENT_LENGTH"]
    blob = b'{"x": "' + b"A" * (limit + 1024) + b'"}'
    before = all_rows()
    for route in concrete_routes(app, world.ids["acme"]):
        if route.method not in MUTATING or route.endpoint == "auth.logout":
            continue
        started = time.monotonic()
        response = browser.client.open(
            route.url,
            method=route.method,
            data=blob,
            content_type="application/json",
            headers={"X-CSRFToken": token},
        )
        assert response.status_code == 413, (route, response.status_code)
        assert time.monotonic() - started < BOUNDED_SECONDS, route
    assert_unchanged(before)


def test_an_id_too_large_for_the_database_answers_404_not_500(seeded):
    app, world = seeded
    browser = world.browser(app, Role.ADMIN)
    huge = str(2**64)
    for route in concrete_routes(app, world.ids["acme"]):
        if not set(route.arguments) - {"filename"} or route.endpoint == "auth.logout":
            continue
        url = "/".join(
            huge if part.isdigit() else part for part in route.url.split("/")
        )
        response = browser.client.open(
            url, method=route.method, headers={"X-CSRFToken": browser.csrf_token()}
        )
        assert response.status_code == 404, (route, response.status_code)
