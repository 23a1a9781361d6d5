"""Jinja2 templates in scenario values: sandboxed, strict, compiled once.

The names a template may use are the scenario's roles and a few helpers
(:data:`HELPERS`). Roles are shown to templates through read-only views exposing only
the attributes the format documents, so a template cannot reach into the engine.
"""

from __future__ import annotations

import base64
import random
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import jinja2
import jinja2.meta
import jinja2.nodes
from jinja2.sandbox import SandboxedEnvironment

from simulator.scenario.problems import did_you_mean

USER_ATTRIBUTES = frozenset(
    {"name", "sam", "upn", "email", "domain_user", "sid", "department", "title"}
)
HOST_ATTRIBUTES = frozenset({"name", "fqdn", "ip", "os", "kind", "owner", "role"})
ROLE_ATTRIBUTES = {"user": USER_ATTRIBUTES, "host": HOST_ATTRIBUTES}
HELPERS = ("rand", "b64utf16", "b64", "fake_hash", "guid")
RAND_METHODS = frozenset({"int", "choice"})
HASH_SIZES = {"md5": 16, "sha1": 20, "sha256": 32, "sha512": 64}

_ENV = SandboxedEnvironment(
    undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
)


def is_template(text: str) -> bool:
    """True when ``text`` contains Jinja2 markup (plain strings skip the engine)."""
    return "{{" in text or "{%" in text or "{#" in text


def compile_template(text: str) -> jinja2.Template:
    """The compiled template (``jinja2.TemplateSyntaxError`` when it is malformed)."""
    return _ENV.from_string(text)


def check_template(text: str, role_kinds: Mapping[str, str]) -> list[str]:
    """Problems with one template: syntax, unknown names, unknown attributes."""
    try:
        tree = _ENV.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        return [f"template syntax error: {exc.message}"]
    known = set(role_kinds) | set(HELPERS)
    messages = []
    for name in sorted(jinja2.meta.find_undeclared_variables(tree)):
        if name not in known:
            messages.append(
                f"unknown name '{name}' in template{did_you_mean(name, known)}"
            )
    for node in tree.find_all(jinja2.nodes.Getattr):
        if not isinstance(node.node, jinja2.nodes.Name):
            continue
        owner, attr = node.node.name, node.attr
        allowed: frozenset[str] | None = None
        if owner == "rand":
            allowed = RAND_METHODS
        elif role_kinds.get(owner) in ROLE_ATTRIBUTES:
            allowed = ROLE_ATTRIBUTES[role_kinds[owner]]
        elif role_kinds.get(owner) in ("external_ip", "domain"):
            if not hasattr(str, attr):
                messages.append(
                    f"'{owner}' is a plain string ({role_kinds[owner]} role) "
                    f"and has no attribute '{attr}'"
                )
            continue
        if allowed is not None and attr not in allowed:
            messages.append(
                f"'{owner}' has no attribute '{attr}'{did_you_mean(attr, allowed)}"
            )
    for node in tree.find_all(jinja2.nodes.Call):
        if (
            isinstance(node.node, jinja2.nodes.Name)
            and node.node.name == "fake_hash"
            and node.args
            and isinstance(node.args[0], jinja2.nodes.Const)
            and node.args[0].value not in HASH_SIZES
        ):
            messages.append(
                f"fake_hash({node.args[0].value!r}): use one of {', '.join(HASH_SIZES)}"
            )
    return messages


def single_name(text: str) -> str | None:
    """The variable name when ``text`` is exactly ``{{ name }}``, else ``None``."""
    try:
        tree = _ENV.parse(text)
    except jinja2.TemplateSyntaxError:
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], jinja2.nodes.Output):
        return None
    nodes = tree.body[0].nodes
    if len(nodes) == 1 and isinstance(nodes[0], jinja2.nodes.Name):
        return nodes[0].name
    return None


# --- rendering ----------------------------------------------------------------------


class TemplateRandom:
    """``rand`` in templates: draws from the stage's seeded RNG."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def int(self, low: int, high: int) -> int:
        """A whole number between ``low`` and ``high`` inclusive."""
        return self._rng.randint(int(low), int(high))

    def choice(self, options: Sequence[Any]) -> Any:
        """One of ``options``."""
        return self._rng.choice(list(options))


class RoleView:
    """A bound user or host as templates see it: documented attributes, text = name."""

    __slots__ = ("_target", "_allowed")

    def __init__(self, target: Any, allowed: frozenset[str]) -> None:
        self._target = target
        self._allowed = allowed

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_") or attr not in self._allowed:
            raise AttributeError(attr)
        return view(getattr(self._target, attr, ""))

    def __str__(self) -> str:
        return str(self._target)  # a host's name, a user's sAMAccountName

    def __html__(self) -> str:
        return str(self)


def view(target: Any) -> Any:
    """Wrap an organisation object for templates; plain values pass through."""
    if target is None or isinstance(target, str | int | float | bool):
        return "" if target is None else target
    if hasattr(target, "sam") or hasattr(target, "upn"):
        return RoleView(target, USER_ATTRIBUTES)
    if hasattr(target, "fqdn") or hasattr(target, "ip"):
        return RoleView(target, HOST_ATTRIBUTES)
    return str(target)


def template_context(bindings: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    """The names a template sees: role views and helpers bound to ``rng``."""

    def fake_hash(algorithm: str = "sha256") -> str:
        size = HASH_SIZES.get(str(algorithm).lower())
        if size is None:
            raise ValueError(f"fake_hash: unknown algorithm {algorithm!r}")
        return rng.getrandbits(size * 8).to_bytes(size, "big").hex()

    def guid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    context: dict[str, Any] = {name: view(obj) for name, obj in bindings.items()}
    context.update(
        rand=TemplateRandom(rng),
        b64utf16=b64utf16,
        b64=b64,
        fake_hash=fake_hash,
        guid=guid,
    )
    return context


def b64utf16(text: str) -> str:
    """Base64 of UTF-16LE text: what ``powershell -EncodedCommand`` expects."""
    return base64.b64encode(str(text).encode("utf-16-le")).decode("ascii")


def b64(text: str) -> str:
    """Base64 of UTF-8 text."""
    return base64.b64encode(str(text).encode("utf-8")).decode("ascii")


class TemplateCache:
    """Compiles each distinct template string once and renders plain strings as-is."""

    def __init__(self) -> None:
        self._compiled: dict[str, jinja2.Template] = {}

    def render(self, text: str, context: Mapping[str, Any]) -> str:
        if not is_template(text):
            return text
        template = self._compiled.get(text)
        if template is None:
            template = self._compiled[text] = compile_template(text)
        return template.render(context)

    def render_value(self, value: Any, context: Mapping[str, Any]) -> Any:
        """Render strings anywhere inside lists and mappings; other values unchanged."""
        if isinstance(value, str):
            return self.render(value, context)
        if isinstance(value, list):
            return [self.render_value(v, context) for v in value]
        if isinstance(value, dict):
            return {k: self.render_value(v, context) for k, v in value.items()}
        return value
