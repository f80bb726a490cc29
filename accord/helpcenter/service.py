"""The knowledge base's rules: articles in several languages, every save a version
(history and restore), draft -> review -> published (now or at a set time) -> archived,
and the search index kept to what readers may see. One owner for each write: this module
writes articles, translations, versions and the index; services flush, never commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from accord.govern.access import service as access
from accord.govern.access.principal import Principal
from accord.govern.audit import service as audit
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.settings import SettingsGroup
from accord.helpcenter import markdown
from accord.helpcenter.index import SearchIndex
from accord.helpcenter.models import HelpArticle, HelpCategory, HelpRevision, HelpTranslation
from accord.helpcenter.repository import KnowledgeRepository
from accord.helpcenter.schemas import (
    ArticleIn,
    ArticlePatch,
    CategoryIn,
    HelpCenterSettings,
    TranslationIn,
)
from accord.kit.errors import AccordError, conflict, invalid, not_found
from accord.kit.ids import new_id
from accord.kit.time import utcnow

HELPCENTER = SettingsGroup("helpcenter", HelpCenterSettings)
STATUSES = ("draft", "review", "published", "archived")


def settings_of(workspace: Workspace) -> HelpCenterSettings:
    return HELPCENTER.read(workspace)


def save_settings(
    session: Session,
    workspace_id: uuid.UUID,
    raw: dict[str, Any],
    *,
    actor: Principal,
    expected_version: int | None = None,
) -> tuple[HelpCenterSettings, int]:
    return HELPCENTER.save(
        session, workspace_id, raw, actor=actor, expected_version=expected_version
    )


def _workspace(session: Session, workspace_id: uuid.UUID) -> Workspace:
    found = session.get(Workspace, workspace_id)
    if found is None:
        raise not_found("Workspace")
    return found


# --- categories ---------------------------------------------------------------------------


def categories(session: Session, workspace_id: uuid.UUID) -> list[HelpCategory]:
    return KnowledgeRepository.from_session(session).categories(workspace_id)


def create_category(session: Session, actor: Principal, body: CategoryIn) -> HelpCategory:
    repo = KnowledgeRepository.from_session(session)
    if repo.category_by_slug(actor.workspace_id, body.slug) is not None:
        raise conflict(f"A category {body.slug!r} exists", field="slug", code="slug_taken")
    category = HelpCategory(id=new_id(), workspace_id=actor.workspace_id, **body.model_dump())
    session.add(category)
    session.flush()
    audit.record(session, actor, "help.category.create", target=str(category.id))
    return category


def update_category(
    session: Session, actor: Principal, category_id: uuid.UUID, body: CategoryIn
) -> HelpCategory:
    repo = KnowledgeRepository.from_session(session)
    category = repo.category(actor.workspace_id, category_id)
    if category is None:
        raise not_found("Category", field="category_id")
    other = repo.category_by_slug(actor.workspace_id, body.slug)
    if other is not None and other.id != category.id:
        raise conflict(f"A category {body.slug!r} exists", field="slug", code="slug_taken")
    for key, value in body.model_dump().items():
        setattr(category, key, value)
    session.flush()
    audit.record(session, actor, "help.category.update", target=str(category.id))
    return category


# --- articles -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ArticleView:
    article: HelpArticle
    translations: list[HelpTranslation]

    def in_locale(self, locale: str) -> HelpTranslation | None:
        return next((t for t in self.translations if t.locale == locale), None)


def get_article(session: Session, workspace_id: uuid.UUID, article_id: uuid.UUID) -> ArticleView:
    repo = KnowledgeRepository.from_session(session)
    article = repo.article(workspace_id, article_id)
    if article is None:
        raise not_found("Article", field="article_id")
    return ArticleView(article, repo.translations([article.id]))


def list_articles(
    session: Session,
    workspace_id: uuid.UUID,
    *,
    category_id: uuid.UUID | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[ArticleView]:
    repo = KnowledgeRepository.from_session(session)
    articles = repo.articles(workspace_id, category_id=category_id, limit=limit, offset=offset)
    by_article: dict[uuid.UUID, list[HelpTranslation]] = {a.id: [] for a in articles}
    for t in repo.translations(list(by_article)):
        by_article[t.article_id].append(t)
    return [ArticleView(a, by_article[a.id]) for a in articles]


def _check_owner(session: Session, workspace_id: uuid.UUID, owner_id: uuid.UUID | None) -> None:
    """An article's owner is a member of its workspace (404 naming the field otherwise)."""
    if owner_id is None:
        return
    try:
        access.get_member(session, workspace_id, owner_id)
    except AccordError:
        raise not_found("Owner", field="owner_id") from None


def _free_slug(repo: KnowledgeRepository, workspace_id: uuid.UUID, wanted: str) -> str:
    base = markdown.slugify(wanted, limit=150)
    slug, n = base, 1
    while repo.slug_taken(workspace_id, slug):
        n += 1
        slug = f"{base}-{n}"
    return slug


def create_article(session: Session, actor: Principal, body: ArticleIn) -> ArticleView:
    """A new article with its first translation (version 1), published at once when
    ``body.status`` says so."""
    workspace = _workspace(session, actor.workspace_id)
    repo = KnowledgeRepository.from_session(session)
    if body.category_id is not None and repo.category(workspace.id, body.category_id) is None:
        raise not_found("Category", field="category_id")
    _check_owner(session, workspace.id, body.owner_id)
    if body.slug is not None and repo.slug_taken(workspace.id, body.slug):
        raise conflict(f"An article {body.slug!r} exists", field="slug", code="slug_taken")
    now = utcnow()
    article = HelpArticle(
        id=new_id(),
        workspace_id=workspace.id,
        category_id=body.category_id,
        slug=body.slug or _free_slug(repo, workspace.id, body.title),
        visibility=body.visibility,
        owner_id=body.owner_id,
        review_by=body.review_by,
        created_at=now,
        updated_at=now,
        helpful=0,
        unhelpful=0,
        views=0,
        position=0,
    )
    session.add(article)
    session.flush()
    locale = body.locale or settings_of(workspace).default_locale
    translation = _new_translation(session, article, locale, body.title, body.summary, body.body)
    _revise(session, translation, actor.label, note="created", at=now)
    session.flush()
    audit.record(session, actor, "help.article.create", target=str(article.id))
    if body.status != "draft":
        set_status(session, actor, article.id, locale, body.status)
    return ArticleView(article, [translation])


def _new_translation(
    session: Session,
    article: HelpArticle,
    locale: str,
    title: str,
    summary: str | None,
    body: str,
) -> HelpTranslation:
    now = utcnow()
    translation = HelpTranslation(
        id=new_id(),
        workspace_id=article.workspace_id,
        article_id=article.id,
        locale=locale,
        status="draft",
        title=title.strip(),
        summary=(summary or "").strip() or None,
        body=body,
        version=0,
        updated_at=now,
    )
    session.add(translation)
    # No ORM relationships order these rows: the article and translation go first.
    session.flush()
    return translation


def _revise(
    session: Session, t: HelpTranslation, author: str, *, note: str | None, at: datetime
) -> HelpRevision:
    t.version += 1
    t.updated_at = at
    t.updated_by = author
    revision = HelpRevision(
        id=new_id(),
        workspace_id=t.workspace_id,
        translation_id=t.id,
        number=t.version,
        title=t.title,
        summary=t.summary,
        body=t.body,
        note=note,
        author=author,
        created_at=at,
    )
    session.add(revision)
    return revision


def update_article(
    session: Session, actor: Principal, article_id: uuid.UUID, body: ArticlePatch
) -> ArticleView:
    view = get_article(session, actor.workspace_id, article_id)
    article = view.article
    repo = KnowledgeRepository.from_session(session)
    if body.category_id is not None:
        if repo.category(actor.workspace_id, body.category_id) is None:
            raise not_found("Category", field="category_id")
        article.category_id = body.category_id
    if body.clear_category:
        article.category_id = None
    _check_owner(session, actor.workspace_id, body.owner_id)
    if body.visibility is not None and body.visibility != article.visibility:
        article.visibility = body.visibility
        SearchIndex.from_session(session).set_internal(article.id, body.visibility == "internal")
    for key in ("owner_id", "review_by", "position"):
        value = getattr(body, key)
        if value is not None:
            setattr(article, key, value)
    article.updated_at = utcnow()
    session.flush()
    audit.record(session, actor, "help.article.update", target=str(article.id))
    return view


def save_translation(
    session: Session, actor: Principal, article_id: uuid.UUID, locale: str, body: TranslationIn
) -> HelpTranslation:
    """A new version of the article's text in ``locale`` (a new language when it has
    none yet). What readers see changes only when it is published."""
    view = get_article(session, actor.workspace_id, article_id)
    workspace = _workspace(session, actor.workspace_id)
    if locale not in settings_of(workspace).locales:
        raise invalid(
            f"The help center has no language {locale!r}: add it in its settings first",
            field="locale",
            code="unknown_locale",
        )
    translation = view.in_locale(locale)
    if translation is None:
        translation = _new_translation(
            session, view.article, locale, body.title, body.summary, body.body
        )
    else:
        if body.expected_version is not None and body.expected_version != translation.version:
            raise conflict(
                f"Version {translation.version} was saved since version "
                f"{body.expected_version} was opened (by {translation.updated_by}): "
                "reload, then save again",
                field="expected_version",
                code="version_conflict",
            )
        translation.title = body.title.strip()
        translation.summary = (body.summary or "").strip() or None
        translation.body = body.body
        if translation.status in ("published", "archived"):
            translation.status = "draft"
    _revise(session, translation, actor.label, note=body.note, at=utcnow())
    view.article.updated_at = translation.updated_at
    session.flush()
    audit.record(
        session,
        actor,
        "help.article.save",
        target=str(article_id),
        data={"locale": locale, "version": translation.version},
    )
    return translation


def restore(
    session: Session, actor: Principal, article_id: uuid.UUID, locale: str, number: int
) -> HelpTranslation:
    """Bring back version ``number`` as the newest version (history is never rewritten)."""
    view = get_article(session, actor.workspace_id, article_id)
    translation = view.in_locale(locale)
    if translation is None:
        raise not_found("Translation", field="locale")
    old = KnowledgeRepository.from_session(session).revision(translation.id, number)
    if old is None:
        raise not_found("Version", field="number")
    return save_translation(
        session,
        actor,
        article_id,
        locale,
        TranslationIn(
            title=old.title,
            summary=old.summary,
            body=old.body,
            note=f"restored version {number}",
        ),
    )


def set_status(
    session: Session,
    actor: Principal,
    article_id: uuid.UUID,
    locale: str,
    status: str,
    publish_at: datetime | None = None,
) -> HelpTranslation:
    """Move the text of one language on: to review, published (now, or at
    ``publish_at``), archived (no longer shown or found) or back to draft."""
    if status not in STATUSES:
        raise invalid(f"status must be one of {', '.join(STATUSES)}", field="status")
    view = get_article(session, actor.workspace_id, article_id)
    translation = view.in_locale(locale)
    if translation is None:
        raise not_found("Translation", field="locale")
    now = utcnow()
    if status == "published" and publish_at is not None and publish_at > now:
        translation.publish_at = publish_at
        translation.status = "review" if translation.status == "draft" else translation.status
    elif status == "published":
        publish(session, view.article, translation, at=now)
    elif status == "archived":
        translation.status = "archived"
        translation.publish_at = None
        translation.published_version = None
        translation.published_html = None
        translation.published_title = None
        translation.published_summary = None
        SearchIndex.from_session(session).drop(translation.id)
    else:
        translation.status = status
        translation.publish_at = None
    session.flush()
    audit.record(
        session,
        actor,
        f"help.article.{status}",
        target=str(article_id),
        data={"locale": locale, "version": translation.version}
        | ({"at": publish_at.isoformat()} if publish_at else {}),
    )
    return translation


def publish(
    session: Session, article: HelpArticle, translation: HelpTranslation, *, at: datetime
) -> None:
    """The current version goes live: rendered, and indexed for search."""
    rendered = markdown.render(translation.body)
    translation.status = "published"
    translation.publish_at = None
    translation.published_version = translation.version
    translation.published_title = translation.title
    translation.published_summary = translation.summary
    translation.published_html = rendered.html
    translation.published_at = at
    summary = translation.summary or ""
    SearchIndex.from_session(session).put(
        document_id=translation.id,
        workspace_id=translation.workspace_id,
        article_id=article.id,
        locale=translation.locale,
        internal=article.visibility == "internal",
        title=translation.title,
        body=f"{summary} {rendered.text}".strip(),
    )


def publish_due(session: Session, now: datetime | None = None) -> int:
    """Publish what was scheduled for now or earlier (run every minute by a job)."""
    now = now or utcnow()
    repo = KnowledgeRepository.from_session(session)
    done = 0
    for translation in repo.due(now):
        article = session.get(HelpArticle, translation.article_id)
        if article is not None:
            publish(session, article, translation, at=translation.publish_at or now)
            done += 1
    session.flush()
    return done


def delete_article(session: Session, actor: Principal, article_id: uuid.UUID) -> None:
    view = get_article(session, actor.workspace_id, article_id)
    index = SearchIndex.from_session(session)
    for t in view.translations:
        index.drop(t.id)
    session.delete(view.article)
    session.flush()
    audit.record(session, actor, "help.article.delete", target=str(article_id))


def revisions(
    session: Session, workspace_id: uuid.UUID, article_id: uuid.UUID, locale: str
) -> list[HelpRevision]:
    view = get_article(session, workspace_id, article_id)
    translation = view.in_locale(locale)
    if translation is None:
        raise not_found("Translation", field="locale")
    return KnowledgeRepository.from_session(session).revisions(translation.id)
