"""Field vocabulary of the event store: hot Sigma fields, their SQL, ECS aliases.

Events keep their structured fields as one JSON object (``events.fields``) named the
way Sigma rules, Sysmon and Windows name them. The fields rules and analysts use most
are also exposed as *virtual generated columns* named exactly like the Sigma field, so
that a rule's ``Image|endswith`` renders as a plain column and an analyst's
``Image:*\\\\powershell.exe`` can be planned like any column. Everything else is read
with ``json_extract`` through :func:`field_sql`.

Public API (kept stable; the store, the Sigma backend and the search translator use it):

- :data:`BASE_COLUMNS` -- the physical columns of ``events`` (never Sigma fields).
- :data:`GENERATED_FIELDS` -- Sigma field name -> ``"text"`` or ``"int"``; text columns
  are ``COLLATE NOCASE`` (Sigma compares case-insensitively), int columns have INTEGER
  affinity so ``'4624'`` in JSON equals ``4624`` in a rule.
- :data:`INDEXED_FIELDS` -- generated columns that carry a B-tree index.
- :data:`ECS_ALIASES` -- ECS name (``process.command_line``) -> Sigma field name, for
  the search box only; storage and rules never use ECS names.
- :data:`Dialect` -- the SQL dialects of the store: ``"sqlite"`` (embedded) and
  ``"postgresql"`` (scale-out).
- :func:`json_path`, :func:`quote_identifier`, :func:`field_sql`,
  :func:`safe_integer_sql`, :func:`safe_number_sql`, :func:`resolve_search_field`.

Field names are case-sensitive, as JSON keys are: ``Status`` has a column, ``status``
is read from JSON; ``Product`` (a PE header field) is read from JSON because the base
column ``product`` (the logsource) takes its name. Generated column names are unique
case-insensitively because SQLite column names are not case-sensitive.
"""

from __future__ import annotations

from typing import Final, Literal

FieldType = Literal["text", "int"]
#: SQL dialect of an event store.
Dialect = Literal["sqlite", "postgresql"]
DIALECTS: Final[tuple[Dialect, ...]] = ("sqlite", "postgresql")

#: Physical columns of the ``events`` table, in table order.
BASE_COLUMNS: Final[tuple[str, ...]] = (
    "id",
    "uid",
    "ts",
    "sensor",
    "host",
    "product",
    "category",
    "service",
    "tenant",
    "exercise",
    "raw",
    "fields",
)

_TEXT: Final[tuple[str, ...]] = (
    # Windows System block (flattened by the importer and written by the simulator)
    "Channel",
    "Computer",
    "Provider_Name",
    # Sysmon process, file, registry, network, image-load, pipe, access events
    "Image",
    "OriginalFileName",
    "CommandLine",
    "User",
    "IntegrityLevel",
    "Hashes",
    "ParentImage",
    "ParentCommandLine",
    "TargetFilename",
    "TargetObject",
    "Details",
    "DestinationIp",
    "DestinationHostname",
    "SourceIp",
    "Initiated",
    "QueryName",
    "ImageLoaded",
    "SourceImage",
    "TargetImage",
    "GrantedAccess",
    "PipeName",
    # PowerShell
    "ScriptBlockText",
    # Windows Security / System
    "ServiceName",
    "ImagePath",
    "SubjectUserName",
    "TargetUserName",
    "IpAddress",
    "NewProcessName",
    "TaskName",
    # firewall, proxy, web server, cloud
    "src_ip",
    "dst_ip",
    "action",
    "c-uri",
    "c-useragent",
    "cs-method",
    "eventName",
    "eventSource",
)

_INT: Final[tuple[str, ...]] = (
    "EventID",
    "LogonType",
    "ProcessId",
    "DestinationPort",
    "src_port",
    "dst_port",
    "sc-status",
)

#: Sigma field name -> column type, in column order. SQLite computes every virtual
#: column of a row at insert (about a microsecond each over a 500-byte JSON object),
#: so the list is kept to the fields SigmaHQ rules and analysts use most.
GENERATED_FIELDS: Final[dict[str, FieldType]] = {
    **dict.fromkeys(_TEXT, "text"),
    **dict.fromkeys(_INT, "int"),
}

#: Generated columns with a B-tree index. Each one costs a ``json_extract`` and a
#: B-tree insert per event at ingest, so only the fields analysts filter on most.
INDEXED_FIELDS: Final[tuple[str, ...]] = (
    "EventID",
    "Image",
    "User",
    "TargetUserName",
    "DestinationIp",
    "QueryName",
)

#: ECS names accepted by the search box, mapped onto the stored Sigma/Windows names.
ECS_ALIASES: Final[dict[str, str]] = {
    "@timestamp": "ts",
    "host.name": "host",
    "host.hostname": "host",
    "event.code": "EventID",
    "event.provider": "Provider_Name",
    "winlog.channel": "Channel",
    "process.executable": "Image",
    "process.command_line": "CommandLine",
    "process.pid": "ProcessId",
    "process.working_directory": "CurrentDirectory",
    "process.pe.original_file_name": "OriginalFileName",
    "process.hash": "Hashes",
    "process.parent.executable": "ParentImage",
    "process.parent.command_line": "ParentCommandLine",
    "process.parent.pid": "ParentProcessId",
    "user.name": "User",
    "file.path": "TargetFilename",
    "registry.path": "TargetObject",
    "registry.data.strings": "Details",
    "dll.path": "ImageLoaded",
    "dns.question.name": "QueryName",
    "source.ip": "SourceIp",
    "source.port": "SourcePort",
    "destination.ip": "DestinationIp",
    "destination.port": "DestinationPort",
    "destination.domain": "DestinationHostname",
    "network.transport": "Protocol",
    "url.original": "c-uri",
    "url.query": "cs-uri-query",
    "http.request.method": "cs-method",
    "http.response.status_code": "sc-status",
    "user_agent.original": "c-useragent",
    "service.name": "ServiceName",
    "powershell.file.script_block_text": "ScriptBlockText",
    "event.action": "eventName",
    "cloud.service.name": "eventSource",
}


def _check_unique() -> None:
    """Fail at import if two column names collide in SQLite's case-insensitive space."""
    seen: set[str] = set()
    for name in (*BASE_COLUMNS, *GENERATED_FIELDS):
        if name.lower() in seen:
            raise RuntimeError(f"column name {name!r} collides case-insensitively")
        seen.add(name.lower())


_check_unique()


def quote_identifier(name: str) -> str:
    """A double-quoted SQL identifier (standard SQL; SQLite and PostgreSQL)."""
    return '"' + name.replace('"', '""') + '"'


def sql_string(text: str) -> str:
    """A single-quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def json_path(field: str, *, nested: bool = True) -> str:
    """The JSON path of ``field`` inside ``events.fields``.

    ``Image`` -> ``$."Image"``; with ``nested`` (default) ``userIdentity.type`` ->
    ``$."userIdentity"."type"``, otherwise the dotted name is one key.
    """
    parts = field.split(".") if nested else [field]
    return "$" + "".join('."' + part.replace('"', '\\"') + '"' for part in parts)


def field_sql(
    field: str, *, column: str = "fields", dialect: Dialect = "sqlite"
) -> str:
    """SQL expression reading Sigma field ``field`` from an ``events`` row.

    A field with a generated column renders as that column. Any other field is read
    from the JSON object: ``json_extract`` on SQLite (numbers stay numbers), the
    ``->>`` operator on PostgreSQL (always text). A dotted name is read both as one
    flat key (``"a.b"``, how flattened logs store it) and as a nested path (``a`` ->
    ``b``, how CloudTrail-style JSON stores it), the flat key winning.
    """
    if field in GENERATED_FIELDS:
        return quote_identifier(field)
    if dialect == "postgresql":
        return _postgres_field(field, column)
    flat = f"json_extract({column}, {sql_string(json_path(field, nested=False))})"
    if "." not in field:
        return flat
    nested = f"json_extract({column}, {sql_string(json_path(field))})"
    return f"coalesce({flat}, {nested})"


def _postgres_field(field: str, column: str) -> str:
    flat = f"({column}->>{sql_string(field)})"
    if "." not in field:
        return flat
    *parents, leaf = field.split(".")
    path = "".join(f"->{sql_string(part)}" for part in parents)
    return f"coalesce({flat}, ({column}{path}->>{sql_string(leaf)}))"


#: Pattern a text must match to be read as a PostgreSQL ``bigint`` (18 digits
#: always fit, so the cast can never overflow).
_INTEGER_PATTERN: Final = "^[+-]?[0-9]{1,18}([.]0*)?$"


def safe_integer_sql(text_expr: str) -> str:
    """PostgreSQL: ``text_expr`` as ``bigint`` when it spells an integer, else NULL.

    Used by the stored generated columns, so a value such as ``"0x10"`` in an
    ``EventID`` never makes an insert fail. Immutable, so it may define a column.
    """
    return (
        f"CASE WHEN btrim({text_expr}) ~ {sql_string(_INTEGER_PATTERN)} "
        f"THEN btrim({text_expr})::numeric::bigint END"
    )


#: A text PostgreSQL may cast to ``double precision`` without an error.
_NUMBER_PATTERN: Final = r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]{1,3})?$"


def safe_number_sql(text_expr: str) -> str:
    """PostgreSQL: ``text_expr`` as a number when it spells one, else NULL.

    For comparisons (``|gt``, ranges) on fields read as text; never an error.
    """
    return (
        f"(CASE WHEN btrim({text_expr}) ~ {sql_string(_NUMBER_PATTERN)} "
        f"THEN btrim({text_expr})::double precision END)"
    )


def resolve_search_field(name: str) -> str:
    """Map a name typed in the search box to a stored field or base column.

    ECS aliases resolve to their Sigma field; base columns and any other name are
    returned unchanged (the caller decides whether it may be queried).
    """
    return ECS_ALIASES.get(name, name)
