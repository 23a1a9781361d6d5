"""Knowledge-base pages: search, read (the view is reported by kb.js), write."""

from __future__ import annotations

from flask import render_template, request

from simulator import vocabulary
from simulator.scenario.attack import catalogue
from socdrill import markdown
from socdrill.console import bp, knowledge
from socdrill.console.scope import me, teams_of


@bp.get("/console/kb")
def kb() -> str:
    user = me()
    text = request.args.get("q", "")[:200]
    scope = request.args.get("scope", "")
    scope = scope if scope in vocabulary.SCOPES else ""
    technique = request.args.get("technique", "")[:16]
    return render_template(
        "console/kb.html",
        articles=knowledge.search(user, text=text, scope=scope, technique=technique),
        q=text,
        scope=scope,
        technique=technique,
        scopes=vocabulary.SCOPES,
    )


def _editor(article: object | None) -> str:
    user = me()
    table = catalogue()
    return render_template(
        "console/kb_edit.html",
        article=article,
        teams=teams_of(user),
        scopes=vocabulary.SCOPES,
        techniques=sorted(table.techniques.values(), key=lambda t: t.id),
    )


@bp.get("/console/kb/new")
def kb_new() -> str:
    return _editor(None)


@bp.get("/console/kb/<int:article_id>")
def kb_article(article_id: int) -> str:
    article = knowledge.article_or_404(article_id, me())
    names = {
        t: (catalogue().get(t).name if catalogue().get(t) else "")
        for t in article.techniques
    }
    return render_template(
        "console/kb_article.html",
        article=article,
        html=markdown.render(article.body),
        views=knowledge.view_count(article.id),
        technique_names=names,
    )


@bp.get("/console/kb/<int:article_id>/edit")
def kb_edit(article_id: int) -> str:
    return _editor(knowledge.article_or_404(article_id, me()))
