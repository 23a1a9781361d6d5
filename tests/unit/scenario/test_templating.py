"""Templates: sandboxed, strict, with the documented helpers and role attributes."""

from __future__ import annotations

import base64
import random

import jinja2
import pytest

from simulator.environment import Organisation
from simulator.scenario.templating import (
    TemplateCache,
    b64,
    b64utf16,
    check_template,
    single_name,
    template_context,
)

ROLES = {
    "victim": "user",
    "victim_ws": "host",
    "c2": "external_ip",
    "c2_domain": "domain",
}


@pytest.fixture(scope="module")
def org() -> Organisation:
    return Organisation.build(7, "tiny")


@pytest.fixture
def context(org):
    user = org.users[0]
    host = org.hosts_where(kind="workstation")[0]
    bindings = {
        "victim": user,
        "victim_ws": host,
        "c2": "203.0.113.7",
        "c2_domain": "a.test",
    }
    return template_context(bindings, random.Random(1)), user, host


def render(text, context):
    return TemplateCache().render(text, context)


def test_role_attributes_render_from_the_organisation(context):
    ctx, user, host = context
    assert render("{{ victim.email }}", ctx) == user.email
    assert render("{{ victim.domain_user }}", ctx) == user.domain_user
    assert render("{{ victim_ws }}", ctx) == host.name
    assert (
        render("{{ victim_ws.ip }} {{ victim_ws.fqdn }}", ctx)
        == f"{host.ip} {host.fqdn}"
    )
    assert (
        render("https://{{ c2_domain }}/x {{ c2 }}", ctx)
        == "https://a.test/x 203.0.113.7"
    )


def test_helpers_produce_what_they_promise(context):
    ctx, _, _ = context
    assert (
        render("{{ b64utf16('IEX') }}", ctx)
        == base64.b64encode("IEX".encode("utf-16-le")).decode()
    )
    assert render("{{ b64('hi') }}", ctx) == "aGk="
    assert len(render("{{ fake_hash('sha256') }}", ctx)) == 64
    assert len(render("{{ fake_hash('md5') }}", ctx)) == 32
    assert len(render("{{ fake_hash() }}", ctx)) == 64
    guid = render("{{ guid() }}", ctx)
    assert len(guid) == 36 and guid.count("-") == 4
    assert 1000 <= int(render("{{ rand.int(1000, 9999) }}", ctx)) <= 9999
    assert render("{{ rand.choice(['a', 'b']) }}", ctx) in ("a", "b")
    assert render("{{ 'x' ~ c2_domain ~ '/a' }}", ctx) == "xa.test/a"


def test_the_same_seed_renders_the_same_values(org):
    bindings = {"victim": org.users[0]}
    first = template_context(bindings, random.Random(5))
    second = template_context(bindings, random.Random(5))
    text = "{{ rand.int(1, 10**9) }} {{ guid() }} {{ fake_hash('sha1') }}"
    assert render(text, first) == render(text, second)


def test_undefined_names_fail_at_render_time_too(context):
    ctx, _, _ = context
    with pytest.raises(jinja2.UndefinedError):
        render("{{ nobody }}", ctx)


def test_templates_cannot_reach_engine_internals(context):
    ctx, _, _ = context
    with pytest.raises(jinja2.exceptions.SecurityError):
        render("{{ victim.__class__ }}", ctx)
    with pytest.raises(jinja2.UndefinedError):
        render("{{ victim.is_admin }}", ctx)  # not a documented role attribute
    with pytest.raises(jinja2.exceptions.SecurityError):
        render("{{ rand.int.__globals__ }}", ctx)


def test_plain_strings_skip_the_engine(context):
    ctx, _, _ = context
    cache = TemplateCache()
    assert cache.render("C:\\Windows\\{x}.exe", ctx) == "C:\\Windows\\{x}.exe"
    assert cache._compiled == {}
    assert TemplateCache().render_value({"a": ["{{ c2 }}", 443], "b": True}, ctx) == {
        "a": ["203.0.113.7", 443],
        "b": True,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ victim.email }}", []),
        (
            "{{ victim.emial }}",
            ["'victim' has no attribute 'emial' (did you mean 'email'?)"],
        ),
        ("{{ victim_ws.fqdn }}", []),
        ("{{ victim_ws.email }}", ["'victim_ws' has no attribute 'email'"]),
        ("{{ c2_domain.upper() }}", []),
        (
            "{{ c2.ip }}",
            ["'c2' is a plain string (external_ip role) and has no attribute 'ip'"],
        ),
        (
            "{{ rand.integer(1, 2) }}",
            ["'rand' has no attribute 'integer' (did you mean 'int'?)"],
        ),
        (
            "{{ fake_hash('sha3') }}",
            ["fake_hash('sha3'): use one of md5, sha1, sha256, sha512"],
        ),
        ("{{ guid() }}{{ b64('x') }}{{ b64utf16('y') }}", []),
        ("{{ nope }}", ["unknown name 'nope' in template"]),
        (
            "{{ c2domain }}",
            ["unknown name 'c2domain' in template (did you mean 'c2_domain'?)"],
        ),
        ("{% for x in [1] %}{{ x }}{% endfor %}", []),
        (
            "{{ victim.email ",
            [
                "template syntax error: unexpected end of template, "
                "expected 'end of print statement'."
            ],
        ),
    ],
)
def test_check_template_reports_names_attributes_and_syntax(text, expected):
    assert check_template(text, ROLES) == expected


def test_single_name_recognises_a_lone_variable():
    assert single_name("{{ victim_ws }}") == "victim_ws"
    assert single_name("{{victim_ws}}") == "victim_ws"
    assert single_name("x{{ victim_ws }}") is None
    assert single_name("{{ victim_ws.name }}") is None
    assert single_name("{{ broken") is None


def test_encoders_accept_any_text():
    assert b64utf16("") == ""
    assert b64("é") == "w6k="
