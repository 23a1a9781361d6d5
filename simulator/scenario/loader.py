"""Safe loading of scenario YAML: limits first, then plain data with positions.

Scenario files are uploaded by exercise directors, so the loader treats them as hostile:

1. the byte size is capped before anything is parsed;
2. the parser's event stream (which never recurses) is checked for nesting depth, node
   count and alias count, so the recursive composer never sees a deep document;
3. the composed node graph is measured as it *would* be once aliases are expanded,
   with memoisation, so a "billion laughs" file is refused without expanding it;
4. only then is plain data built, using the safe constructor for scalars (the tags
   ``yaml.safe_load`` knows, nothing more) and recording the line and column of every
   key and value.

Two deliberate differences from ``yaml.safe_load``: duplicate keys are an error
instead of "last one wins", and keys and timestamps stay text (a key ``on`` is the
name "on", a value ``2026-03-01`` is the string "2026-03-01").
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from simulator.scenario.model import Scenario
from simulator.scenario.problems import Problem, ScenarioError
from simulator.scenario.pydantic_errors import problems_from_validation_error
from simulator.scenario.source import SourceMap

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_COLLECTION_TAGS = {
    yaml.SequenceNode: "tag:yaml.org,2002:seq",
    yaml.MappingNode: "tag:yaml.org,2002:map",
}


@dataclass(frozen=True, slots=True)
class Limits:
    """Upper bounds for one scenario file; generous for real scenarios."""

    max_bytes: int = 512 * 1024
    max_depth: int = 32
    max_nodes: int = 50_000
    max_aliases: int = 200
    # Nodes after alias expansion: what the loaded data would really contain.
    max_expanded_nodes: int = 200_000


DEFAULT_LIMITS = Limits()


def read_source(
    source: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS
) -> tuple[str, str]:
    """``(file name, text)`` for a path, or for YAML text given directly.

    A ``str`` is a path when it is one line naming an existing file; anything else is
    the document itself (shown as ``<text>`` in problems).
    """
    if isinstance(source, os.PathLike) or (
        "\n" not in source and source.strip() and Path(source).is_file()
    ):
        path = Path(source)
        with path.open("rb") as handle:
            data = handle.read(limits.max_bytes + 1)
        return str(source), _decode(data, str(source), limits)
    if "\n" not in source and source.strip().endswith((".yml", ".yaml")):
        raise ScenarioError([Problem(source, 0, 0, "", "no such file")])
    return "<text>", _decode(source.encode("utf-8", "surrogatepass"), "<text>", limits)


def _decode(data: bytes, name: str, limits: Limits) -> str:
    if len(data) > limits.max_bytes:
        raise ScenarioError(
            [
                Problem(
                    name,
                    0,
                    0,
                    "",
                    f"file is larger than the {limits.max_bytes // 1024} KiB limit",
                )
            ]
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            [Problem(name, 0, 0, "", f"file is not UTF-8 text (byte {exc.start})")]
        ) from None


def parse_yaml(
    text: str, file: str = "<text>", limits: Limits = DEFAULT_LIMITS
) -> tuple[Any, SourceMap]:
    """Plain data and its :class:`SourceMap` for one YAML document in ``limits``."""
    _check_events(text, file, limits)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ScenarioError([Problem(file, 1, 1, "", "the file is empty")])
        _check_graph(node, file, limits)
        builder = _Builder(loader, SourceMap(file))
        data = builder.build(node, ())
    except yaml.YAMLError as exc:
        raise ScenarioError([_yaml_problem(exc, file)]) from None
    finally:
        loader.dispose()
    if builder.problems:
        raise ScenarioError(builder.problems)
    return data, builder.source


def load_scenario(
    source: str | os.PathLike[str],
    *,
    known_rule_ids: Any = None,
    check: bool = True,
    limits: Limits = DEFAULT_LIMITS,
) -> Scenario:
    """A validated :class:`Scenario` from a path or YAML text.

    Raises :class:`ScenarioError` listing every problem found. With ``check=False``
    only the structure is checked (used by tools that report semantic problems
    themselves). ``known_rule_ids`` is passed to :func:`validate`.
    """
    file, text = read_source(source, limits)
    scenario = build_scenario(text, file, limits)
    if check:
        from simulator.scenario.validate import validate

        problems = validate(scenario, known_rule_ids=known_rule_ids)
        if problems:
            raise ScenarioError(problems)
    return scenario


def build_scenario(
    text: str, file: str = "<text>", limits: Limits = DEFAULT_LIMITS
) -> Scenario:
    """Parse and check the structure of one scenario document."""
    data, source = parse_yaml(text, file, limits)
    if not isinstance(data, dict):
        raise ScenarioError(
            [
                source.problem(
                    (), "a scenario is a mapping of keys (id, title, stages …)"
                )
            ]
        )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(problems_from_validation_error(exc, data, source)) from None
    scenario._source = source
    return scenario


# --- limits --------------------------------------------------------------------------


def _check_events(text: str, file: str, limits: Limits) -> None:
    """Depth, node and alias counts from the event stream (no recursion, no graph)."""
    loader = _Loader(text)
    depth = nodes = aliases = documents = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise ScenarioError([_at(event, file, "one document per file")])
            elif isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                nodes += 1
                if depth > limits.max_depth:
                    raise ScenarioError(
                        [_at(event, file, f"nesting deeper than {limits.max_depth}")]
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.ScalarEvent):
                nodes += 1
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > limits.max_aliases:
                    raise ScenarioError(
                        [_at(event, file, f"more than {limits.max_aliases} aliases")]
                    )
            if nodes > limits.max_nodes:
                raise ScenarioError(
                    [_at(event, file, f"more than {limits.max_nodes} YAML nodes")]
                )
    except yaml.YAMLError as exc:
        raise ScenarioError([_yaml_problem(exc, file)]) from None
    finally:
        loader.dispose()


def _check_graph(root: yaml.Node, file: str, limits: Limits) -> None:
    """Refuse graphs whose alias expansion is too large, or that contain themselves."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in on_path:
            raise ScenarioError(
                [_node_problem(node, file, "an alias refers to itself")]
            )
        on_path.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        on_path.discard(key)
        if total > limits.max_expanded_nodes:
            raise ScenarioError(
                [
                    _node_problem(
                        node,
                        file,
                        "aliases would expand to more than "
                        f"{limits.max_expanded_nodes} nodes",
                    )
                ]
            )
        sizes[key] = total
        return total

    size(root)


# --- building plain data -------------------------------------------------------------


class _Builder:
    """Turns a checked node graph into dicts/lists/scalars and records positions."""

    def __init__(self, loader: Any, source: SourceMap) -> None:
        self.loader = loader
        self.source = source
        self.problems: list[Problem] = []

    def build(self, node: yaml.Node, path: tuple[str | int, ...]) -> Any:
        self.source.values.setdefault(path, _position(node))
        expected = _COLLECTION_TAGS.get(type(node))
        if expected is not None and node.tag != expected:
            # safe_load would refuse these too; a collection is a list or a mapping.
            self.problems.append(
                _node_problem(
                    node, self.source.file, f"YAML tag {node.tag} is not allowed"
                )
            )
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        if node.tag == _TIMESTAMP_TAG:
            return node.value
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: tuple[str | int, ...]) -> dict:
        self.loader.flatten_mapping(node)  # resolves '<<' merge keys
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(
                    _node_problem(
                        key_node, self.source.file, "keys must be plain names"
                    )
                )
                continue
            key = str(key_node.value)
            child = (*path, key)
            if key in result:
                self.problems.append(
                    _node_problem(key_node, self.source.file, f"duplicate key '{key}'")
                )
                continue
            self.source.keys[child] = _position(key_node)
            result[key] = self.build(value_node, child)
        return result


def _position(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _at(event: yaml.Event, file: str, message: str) -> Problem:
    mark = event.start_mark
    return Problem(file, mark.line + 1, mark.column + 1, "", message)


def _node_problem(node: yaml.Node, file: str, message: str) -> Problem:
    line, col = _position(node)
    return Problem(file, line, col, "", message)


def _yaml_problem(exc: yaml.YAMLError, file: str) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    message = f"YAML: {problem}" + (f" ({context})" if context else "")
    if mark is None:
        return Problem(file, 0, 0, "", message)
    return Problem(file, mark.line + 1, mark.column + 1, "", message)
