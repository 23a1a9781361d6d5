"""The knowledge base: markdown articles of a team, with scope and ATT&CK tags.

Writing an article (or a new revision) records ``kb_write``; opening one records a
view (``kb_views``) and ``kb_view``. Reading through the API's GET changes nothing:
the article page reports the view with its own POST.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from socdrill.console.activity import Done, Recorder
from socdrill.console.errors import Conflict, NotFound
from socdrill.console.incidents import check_techniques
from socdrill.console.scope import exercise_in_play_for_team, team_by_name, teams_of
from socdrill.extensions import db
from socdrill.models import KbArticle, KbRevision, KbView, User, utcnow

MAX_RESULTS = 200


def article_or_404(article_id: int, user: User) -> KbArticle:
    """The article if it belongs to one of ``user``'s teams."""
    article = db.session.get(KbArticle, article_id)
    if article is None or article.team_id not in {t.id for t in teams_of(user)}:
        raise NotFound(f"no article {article_id} in your teams' knowledge base")
    return article


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(
    user: User, *, text: str = "", scope: str = "", technique: str = ""
) -> list[KbArticle]:
    """Articles of ``user``'s teams whose title or body holds every word of ``text``."""
    team_ids = [team.id for team in teams_of(user)]
    statement = sa.select(KbArticle).where(KbArticle.team_id.in_(team_ids))
    for word in text.split()[:10]:
        pattern = f"%{_escape_like(word.lower())}%"
        statement = statement.where(
            sa.or_(
                sa.func.lower(KbArticle.title).like(pattern, escape="\\"),
                sa.func.lower(KbArticle.body).like(pattern, escape="\\"),
            )
        )
    if scope:
        statement = statement.where(KbArticle.scope == scope)
    rows = db.session.scalars(
        statement.order_by(KbArticle.updated_at.desc()).limit(MAX_RESULTS)
    )
    wanted = technique.upper()
    return [
        row
        for row in rows
        if not wanted
        or any(t == wanted or t.startswith(wanted + ".") for t in row.techniques)
    ]


def _revision(article: KbArticle, editor: User) -> None:
    db.session.add(
        KbRevision(
            article_id=article.id,
            version=article.version,
            title=article.title,
            body=article.body,
            scope=article.scope,
            techniques=list(article.techniques),
            editor_id=editor.id,
        )
    )


def create(
    recorder: Recorder,
    *,
    team: str | None,
    title: str,
    body: str,
    scope: str,
    techniques: Sequence[str],
) -> Done:
    actor = recorder.actor
    owner = team_by_name(team, actor)
    article = KbArticle(
        team_id=owner.id,
        title=title,
        body=body,
        scope=scope,
        techniques=check_techniques(techniques),
        created_by_id=actor.id,
    )
    db.session.add(article)
    db.session.flush()
    _revision(article, actor)
    recorder.record(
        exercise_in_play_for_team(owner.id),
        "kb_write",
        [article.id],
        target_type="kb_article",
        fields={"scope": scope, "version": 1},
    )
    return Done("article published", {"article_id": article.id, "version": 1})


def update(
    recorder: Recorder, article_id: int, changes: Mapping[str, Any], version: int | None
) -> Done:
    actor = recorder.actor
    article = article_or_404(article_id, actor)
    if version is not None and version != article.version:
        raise Conflict(
            f"the article changed since you opened it (now version {article.version}); "
            "reload and apply your edit again",
            {"version": "stale"},
        )
    values = dict(changes)
    if "techniques" in values:
        values["techniques"] = check_techniques(values["techniques"])
    changed = [
        name for name, value in values.items() if getattr(article, name) != value
    ]
    if not changed:
        return Done(
            "article unchanged", {"article_id": article.id, "version": article.version}
        )
    for name in changed:
        setattr(article, name, values[name])
    article.version += 1
    article.updated_at = utcnow()
    _revision(article, actor)
    recorder.record(
        exercise_in_play_for_team(article.team_id),
        "kb_write",
        [article.id],
        target_type="kb_article",
        fields={"scope": article.scope, "version": article.version},
    )
    return Done("article saved", {"article_id": article.id, "version": article.version})


def record_view(recorder: Recorder, article_id: int) -> Done:
    actor = recorder.actor
    article = article_or_404(article_id, actor)
    db.session.add(KbView(article_id=article.id, user_id=actor.id))
    recorder.record(
        exercise_in_play_for_team(article.team_id),
        "kb_view",
        [article.id],
        target_type="kb_article",
        fields={"scope": article.scope},
    )
    return Done("view recorded", {"article_id": article.id})


def view_count(article_id: int) -> int:
    return int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(KbView)
            .where(KbView.article_id == article_id)
        )
        or 0
    )
