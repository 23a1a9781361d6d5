"""Sigma rules as PostgreSQL over the event store: the dialect of :mod:`siem.sigma`.

:class:`PostgresEventStoreBackend` subclasses the SQLite-based
:class:`~siem.sigma.EventStoreBackend` and changes only the dialect:

- every field is read as text: a text column as it is (``"Image"``), an integer
  column cast to text (``"EventID"::text``) and any other field through
  ``fields->>'Name'`` (``fields->'a'->>'b'`` for nested names);
- string equality is ``lower(field) = lower('value')`` (served by the store's
  ``lower(...)`` indexes) and wildcards are ``ILIKE ... ESCAPE '\\'``; ``|cased``
  is a case-sensitive ``LIKE``; ``|re`` is ``~`` (``(?i)`` stays an embedded
  option, which PostgreSQL's regular expressions understand);
- numbers: an integer column compares as ``bigint``; any other field through a cast
  that is ``NULL`` rather than an error when the value is not a number;
- keywords (value-only detections) are ``raw ILIKE '%word%'``, which the store's
  ``pg_trgm`` index serves;
- ``NOT`` keeps Sigma's two-valued logic with ``COALESCE(..., false)``.

Correlation rules are compiled by the SQLite backend from fresh copies of their
base rules: :mod:`siem.correlation` evaluates them in a scratch SQLite database
over the window's events, on either store.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sigma.collection import SigmaCollection
from sigma.conditions import ConditionFieldEqualsValueExpression
from sigma.conversion.state import ConversionState
from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaRule
from sigma.types import SigmaCompareExpression, TimestampPart

from siem.fields import (
    GENERATED_FIELDS,
    Dialect,
    field_sql,
    quote_identifier,
    safe_number_sql,
    sql_string,
)
from siem.sigma import EventStoreBackend


def text_field_sql(field: str) -> str:
    """A Sigma field as text on PostgreSQL (integer columns are cast)."""
    if GENERATED_FIELDS.get(field) == "int":
        return f"{quote_identifier(field)}::text"
    return field_sql(field, dialect="postgresql")


class PostgresEventStoreBackend(EventStoreBackend):
    """:class:`~siem.sigma.EventStoreBackend` speaking PostgreSQL."""

    name: ClassVar[str] = "socdrill event store (PostgreSQL)"
    identifier: ClassVar[str] = "socdrill-postgresql"
    dialect: ClassVar[Dialect] = "postgresql"

    wildcard_match_expression: ClassVar[str] = "{field} ILIKE '{value}' ESCAPE '\\'"
    contains_expression: ClassVar[str] = "{field} ILIKE '%{value}%' ESCAPE '\\'"
    re_expression: ClassVar[str] = "{field} ~ '{regex}'"
    bool_expression: ClassVar[str] = (
        "(lower({field})={value} OR {field}={numeric_value})"
    )
    bool_numeric_values: ClassVar[dict[bool, str]] = {True: "'1'", False: "'0'"}
    null_safe_expression: ClassVar[str] = "COALESCE({expr}, false)"
    field_equals_field_expression: ClassVar[str | None] = (
        "lower({field1})=lower({field2})"
    )
    field_equals_field_startswith_expression: ClassVar[str | None] = (
        "{field1} ILIKE "
        + EventStoreBackend.field_ref_like_escape
        + " || '%' ESCAPE '\\'"
    )
    field_equals_field_endswith_expression: ClassVar[str | None] = (
        "{field1} ILIKE '%' || "
        + EventStoreBackend.field_ref_like_escape
        + " ESCAPE '\\'"
    )
    field_equals_field_contains_expression: ClassVar[str | None] = (
        "{field1} ILIKE '%' || "
        + EventStoreBackend.field_ref_like_escape
        + " || '%' ESCAPE '\\'"
    )
    field_timestamp_part_expression: ClassVar[str | None] = (
        "CAST(EXTRACT({timestamp_part} FROM CAST({field} AS timestamptz)) AS INTEGER)"
    )
    timestamp_part_mapping: ClassVar[dict[TimestampPart, str] | None] = {
        TimestampPart.MINUTE: "MINUTE",
        TimestampPart.HOUR: "HOUR",
        TimestampPart.DAY: "DAY",
        TimestampPart.WEEK: "WEEK",
        TimestampPart.MONTH: "MONTH",
        TimestampPart.YEAR: "YEAR",
    }

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        # Equality is written with lower() below; no SQLite collation anywhere.
        self.collate_nocase = False

    def escape_and_quote_field(self, field_name: str) -> str:
        return text_field_sql(field_name)

    def _fulltext_column(self) -> str:
        return "raw"

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        """Wildcards: ``ILIKE``; a plain value: ``lower(field) = lower('value')``."""
        value = cond.value
        if value.contains_special():
            return super().convert_condition_field_eq_val_str(cond, state)
        field = self.escape_and_quote_field(cond.field)
        literal = sql_string(value.to_plain())
        return f"lower({field})=lower({literal})"

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        """``|cased``: ``LIKE``, which is case-sensitive in PostgreSQL."""
        field = self.escape_and_quote_field(cond.field)
        pattern = self.convert_value_str(cond.value, state, no_quote=True)
        return f"{field} LIKE '{pattern}' ESCAPE '\\'"

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        """``EventID: 4624``: the ``bigint`` column, else the number's text."""
        number = str(cond.value)
        if GENERATED_FIELDS.get(cond.field) == "int":
            return f"{quote_identifier(cond.field)}={number}"
        return f"{safe_number_sql(self.escape_and_quote_field(cond.field))}={number}"

    def convert_condition_field_compare_op_val(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """``|gt`` and friends on the number, whether stored as number or text."""
        value = cond.value
        if isinstance(value, SigmaCompareExpression) and not hasattr(
            value.number, "timestamp_part"
        ):
            if GENERATED_FIELDS.get(cond.field) == "int":
                operand = quote_identifier(cond.field)
            else:
                operand = safe_number_sql(self.escape_and_quote_field(cond.field))
            return self.compare_op_expression.format(
                field=operand,
                operator=self.compare_operators[value.op],
                value=value.number,
            )
        return super().convert_condition_field_compare_op_val(cond, state)

    def convert_correlation_rule(
        self,
        rule: SigmaCorrelationRule,
        output_format: str | None = None,
        method: str | None = None,
        callback: Any = None,
    ) -> list[Any]:
        """The SQLite query of the correlation, from fresh copies of its rules.

        Correlations run in a scratch SQLite database over the window's events
        (:mod:`siem.correlation`), so their base rules must be SQLite fragments too.
        """
        collection = SigmaCollection(_fresh_copies(rule))
        collection.resolve_rule_references()
        sqlite = EventStoreBackend()
        for member in collection.rules:
            if isinstance(member, SigmaRule):
                sqlite.convert_rule(member)
        fresh = collection.rules[-1]
        if not isinstance(fresh, SigmaCorrelationRule):  # _fresh_copies puts it last
            raise TypeError("expected the correlation rule last")
        return list(sqlite.convert_correlation_rule(fresh))


def _fresh_copies(
    rule: SigmaCorrelationRule,
) -> list[SigmaRule | SigmaCorrelationRule]:
    """Unconverted copies of ``rule`` and every rule it references, ``rule`` last."""
    seen: set[int] = set()
    ordered: list[SigmaRule | SigmaCorrelationRule] = []

    def visit(node: SigmaRule | SigmaCorrelationRule) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, SigmaCorrelationRule):
            for ref in node.rules:
                visit(ref.rule)
            ordered.append(SigmaCorrelationRule.from_dict(node.to_dict()))
        else:
            ordered.append(SigmaRule.from_dict(node.to_dict()))

    visit(rule)
    return ordered
