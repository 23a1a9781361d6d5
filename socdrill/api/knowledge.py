"""Knowledge-base endpoints."""

from __future__ import annotations

from socdrill import markdown
from socdrill.api import bp
from socdrill.api.common import act
from socdrill.api.operations import operation
from socdrill.api.schemas.common import ActionResult
from socdrill.api.schemas.knowledge import (
    ArticleCreate,
    ArticleList,
    ArticleOut,
    ArticleQuery,
    ArticleSummary,
    ArticleUpdate,
)
from socdrill.console import knowledge
from socdrill.console.scope import me
from socdrill.models import KbArticle

TAG = "knowledge base"


def summary(article: KbArticle) -> ArticleSummary:
    return ArticleSummary(
        id=article.id,
        title=article.title,
        team=article.team.name,
        scope=article.scope,
        techniques=list(article.techniques),
        version=article.version,
        updated_at=article.updated_at,
    )


@operation(
    bp,
    "/kb",
    "GET",
    summary="Search the knowledge base",
    tag=TAG,
    query=ArticleQuery,
    response=ArticleList,
)
def kb_list(query: ArticleQuery) -> ArticleList:
    rows = knowledge.search(
        me(), text=query.q, scope=query.scope or "", technique=query.technique
    )
    return ArticleList(articles=[summary(row) for row in rows])


@operation(
    bp,
    "/kb",
    "POST",
    summary="Write an article",
    tag=TAG,
    body=ArticleCreate,
    response=ActionResult,
    status=201,
    errors=(404,),
)
def kb_create(body: ArticleCreate) -> ActionResult:
    return act(
        lambda rec: knowledge.create(
            rec,
            team=body.team,
            title=body.title,
            body=body.body,
            scope=body.scope,
            techniques=body.techniques,
        )
    )


@operation(
    bp,
    "/kb/<int:article_id>",
    "GET",
    summary="One article",
    tag=TAG,
    response=ArticleOut,
)
def kb_article(article_id: int) -> ArticleOut:
    """Reading changes nothing; record the view with POST …/views."""
    article = knowledge.article_or_404(article_id, me())
    return ArticleOut(
        **summary(article).model_dump(),
        body=article.body,
        html=str(markdown.render(article.body)),
        views=knowledge.view_count(article.id),
        created_at=article.created_at,
    )


@operation(
    bp,
    "/kb/<int:article_id>",
    "PATCH",
    summary="Edit an article",
    tag=TAG,
    body=ArticleUpdate,
    response=ActionResult,
    errors=(409,),
)
def kb_update(article_id: int, body: ArticleUpdate) -> ActionResult:
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    changes = {key: value for key, value in changes.items() if value is not None}
    return act(lambda rec: knowledge.update(rec, article_id, changes, body.version))


@operation(
    bp,
    "/kb/<int:article_id>/views",
    "POST",
    summary="Record that you read it",
    tag=TAG,
    response=ActionResult,
)
def kb_view(article_id: int) -> ActionResult:
    return act(lambda rec: knowledge.record_view(rec, article_id))
