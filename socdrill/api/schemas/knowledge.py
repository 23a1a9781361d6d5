"""Schemas of the knowledge base."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from simulator import vocabulary
from socdrill.api.schemas.common import (
    ArticleBody,
    Input,
    Output,
    TechniqueId,
    Title,
    Version,
)

ScopeName = Literal[vocabulary.SCOPES]  # type: ignore[valid-type]


class ArticleQuery(Input):
    q: str = Field("", max_length=200)
    scope: ScopeName | None = None
    technique: str = Field("", max_length=16)


class ArticleCreate(Input):
    team: str = Field("", max_length=80, description="your team's name; empty: first")
    title: Title
    body: ArticleBody = ""
    scope: ScopeName
    techniques: list[TechniqueId] = Field(default_factory=list, max_length=50)


class ArticleUpdate(Input):
    version: Version | None = None
    title: Title | None = None
    body: ArticleBody | None = None
    scope: ScopeName | None = None
    techniques: list[TechniqueId] | None = Field(None, max_length=50)


class ArticleSummary(Output):
    id: int
    title: str
    team: str
    scope: str
    techniques: list[str]
    version: int
    updated_at: datetime


class ArticleOut(ArticleSummary):
    body: str
    html: str
    views: int
    created_at: datetime


class ArticleList(Output):
    articles: list[ArticleSummary]
