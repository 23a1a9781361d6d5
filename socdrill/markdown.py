"""Markdown for tickets, knowledge-base articles and customer reports.

Text is rendered with markdown-it-py (raw HTML switched off) and the result is then
sanitised with nh3, so even a renderer bug cannot let a script, an event handler, a
style or a ``javascript:`` link through: only a small tag list survives and links
keep only ``http``, ``https`` and ``mailto`` targets.
"""

from __future__ import annotations

from functools import cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = frozenset(
    {
        "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4",
        "h5", "h6", "hr", "li", "ol", "p", "pre", "s", "strong", "table",
        "tbody", "td", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Longest text rendered; longer input is refused by the schemas before this point.
MAX_SOURCE_CHARS = 200_000


@cache
def _renderer() -> MarkdownIt:
    # "html": False turns inline and block HTML into text; linkify stays off so a
    # bare host name in a ticket never becomes a link by accident.
    return (
        MarkdownIt("commonmark", {"html": False})
        .enable("table")
        .enable("strikethrough")
    )


def sanitise(html: str) -> str:
    """Keep only the allowed tags, attributes and link schemes of ``html``."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def render(text: str | None) -> Markup:
    """Safe HTML for ``text`` (markdown), ready to place in a template."""
    if not text:
        return Markup("")
    source = text[:MAX_SOURCE_CHARS]
    # The sanitised output is the only markup trusted as-is.
    return Markup(sanitise(_renderer().render(source)))  # noqa: S704
