"""The knowledge base's SQL: categories, articles, translations and their versions."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select

from accord.helpcenter.models import (
    HelpArticle,
    HelpCategory,
    HelpRevision,
    HelpTranslation,
)
from accord.kit.repository import Repository


class KnowledgeRepository(Repository):
    # --- categories -----------------------------------------------------------------------

    def categories(self, workspace_id: uuid.UUID) -> list[HelpCategory]:
        stmt = (
            select(HelpCategory)
            .where(HelpCategory.workspace_id == workspace_id)
            .order_by(HelpCategory.position, HelpCategory.slug)
        )
        return list(self.session.scalars(stmt))

    def category(self, workspace_id: uuid.UUID, category_id: uuid.UUID) -> HelpCategory | None:
        found = self.session.get(HelpCategory, category_id)
        return found if found is not None and found.workspace_id == workspace_id else None

    def category_by_slug(self, workspace_id: uuid.UUID, slug: str) -> HelpCategory | None:
        return self.session.scalars(
            select(HelpCategory).where(
                HelpCategory.workspace_id == workspace_id, HelpCategory.slug == slug
            )
        ).first()

    # --- articles -------------------------------------------------------------------------

    def article(self, workspace_id: uuid.UUID, article_id: uuid.UUID) -> HelpArticle | None:
        found = self.session.get(HelpArticle, article_id)
        return found if found is not None and found.workspace_id == workspace_id else None

    def article_by_slug(self, workspace_id: uuid.UUID, slug: str) -> HelpArticle | None:
        return self.session.scalars(
            select(HelpArticle).where(
                HelpArticle.workspace_id == workspace_id, HelpArticle.slug == slug
            )
        ).first()

    def slug_taken(self, workspace_id: uuid.UUID, slug: str) -> bool:
        stmt = select(func.count()).where(
            HelpArticle.workspace_id == workspace_id, HelpArticle.slug == slug
        )
        return bool(self.session.scalar(stmt))

    def articles(
        self,
        workspace_id: uuid.UUID,
        *,
        category_id: uuid.UUID | None = None,
        ids: Collection[uuid.UUID] | None = None,
        limit: int = 500,
        offset: int = 0,
    ) -> list[HelpArticle]:
        stmt = select(HelpArticle).where(HelpArticle.workspace_id == workspace_id)
        if category_id is not None:
            stmt = stmt.where(HelpArticle.category_id == category_id)
        if ids is not None:
            stmt = stmt.where(HelpArticle.id.in_(list(ids)))
        stmt = stmt.order_by(HelpArticle.position, HelpArticle.slug).limit(limit).offset(offset)
        return list(self.session.scalars(stmt))

    def count_articles(self, workspace_id: uuid.UUID) -> int:
        stmt = select(func.count()).where(HelpArticle.workspace_id == workspace_id)
        return int(self.session.scalar(stmt) or 0)

    # --- translations ---------------------------------------------------------------------

    def translations(self, article_ids: Collection[uuid.UUID]) -> list[HelpTranslation]:
        if not article_ids:
            return []
        stmt = (
            select(HelpTranslation)
            .where(HelpTranslation.article_id.in_(list(article_ids)))
            .order_by(HelpTranslation.article_id, HelpTranslation.locale)
        )
        return list(self.session.scalars(stmt))

    def translation(self, article_id: uuid.UUID, locale: str) -> HelpTranslation | None:
        return self.session.scalars(
            select(HelpTranslation).where(
                HelpTranslation.article_id == article_id, HelpTranslation.locale == locale
            )
        ).first()

    def published_in(
        self, workspace_id: uuid.UUID, locales: Collection[str], article_ids: Collection[uuid.UUID]
    ) -> list[HelpTranslation]:
        """The live translations of ``article_ids`` in ``locales``."""
        if not article_ids:
            return []
        stmt = select(HelpTranslation).where(
            HelpTranslation.workspace_id == workspace_id,
            HelpTranslation.article_id.in_(list(article_ids)),
            HelpTranslation.locale.in_(list(locales)),
            HelpTranslation.published_version.is_not(None),
        )
        return list(self.session.scalars(stmt))

    def due(self, now: datetime, limit: int = 200) -> list[HelpTranslation]:
        """Translations whose scheduled publication has come."""
        stmt = (
            select(HelpTranslation)
            .where(HelpTranslation.publish_at.is_not(None), HelpTranslation.publish_at <= now)
            .order_by(HelpTranslation.publish_at)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def due_for_review(self, workspace_id: uuid.UUID, today: object) -> list[HelpArticle]:
        stmt = (
            select(HelpArticle)
            .where(HelpArticle.workspace_id == workspace_id, HelpArticle.review_by <= today)
            .order_by(HelpArticle.review_by)
        )
        return list(self.session.scalars(stmt))

    # --- versions -------------------------------------------------------------------------

    def revisions(self, translation_id: uuid.UUID) -> list[HelpRevision]:
        stmt = (
            select(HelpRevision)
            .where(HelpRevision.translation_id == translation_id)
            .order_by(HelpRevision.number.desc())
        )
        return list(self.session.scalars(stmt))

    def revision(self, translation_id: uuid.UUID, number: int) -> HelpRevision | None:
        return self.session.scalars(
            select(HelpRevision).where(
                HelpRevision.translation_id == translation_id, HelpRevision.number == number
            )
        ).first()
