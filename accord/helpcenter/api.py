"""/api/v1/help: the knowledge base for agents and integrations: categories, articles,
their languages and versions, publishing, search (public and internal answers), and the
help center's settings."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel

from accord.govern.access.deps import (
    AnalyticsReader,
    KnowledgeWriter,
    WorkspaceAdmin,
    WorkspaceReader,
)
from accord.govern.workspaces.service import get_workspace
from accord.helpcenter import analytics, assets, reading, service
from accord.helpcenter.schemas import (
    ArticleIn,
    ArticlePatch,
    ArticleRead,
    CategoryIn,
    CategoryRead,
    HelpCenterSettings,
    RevisionRead,
    SearchHitRead,
    SearchRead,
    StatusIn,
    TranslationIn,
    TranslationRead,
)
from accord.kit.deps import DbSession
from accord.kit.schemas import DataList
from accord.kit.time import utcnow

router = APIRouter(prefix="/api/v1/help", tags=["help center"])


def article_read(view: service.ArticleView) -> ArticleRead:
    a = view.article
    return ArticleRead(
        id=a.id,
        slug=a.slug,
        category_id=a.category_id,
        visibility=a.visibility,
        owner_id=a.owner_id,
        review_by=a.review_by,
        position=a.position,
        helpful=a.helpful,
        unhelpful=a.unhelpful,
        views=a.views,
        created_at=a.created_at,
        updated_at=a.updated_at,
        translations=[TranslationRead.model_validate(t) for t in view.translations],
    )


@router.get("/categories", response_model=DataList[CategoryRead], summary="The categories")
def list_categories(session: DbSession, principal: WorkspaceReader) -> DataList[CategoryRead]:
    rows = service.categories(session, principal.workspace_id)
    return DataList(data=[CategoryRead.model_validate(c) for c in rows])


@router.post("/categories", response_model=CategoryRead, status_code=201, summary="Add a category")
def create_category(
    session: DbSession, principal: KnowledgeWriter, body: CategoryIn
) -> CategoryRead:
    return CategoryRead.model_validate(service.create_category(session, principal, body))


@router.put("/categories/{category_id}", response_model=CategoryRead, summary="Change a category")
def update_category(
    session: DbSession, principal: KnowledgeWriter, category_id: uuid.UUID, body: CategoryIn
) -> CategoryRead:
    return CategoryRead.model_validate(
        service.update_category(session, principal, category_id, body)
    )


@router.get("/articles", response_model=DataList[ArticleRead], summary="Articles, every state")
def list_articles(
    session: DbSession,
    principal: WorkspaceReader,
    category_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DataList[ArticleRead]:
    views = service.list_articles(
        session, principal.workspace_id, category_id=category_id, limit=limit, offset=offset
    )
    return DataList(data=[article_read(v) for v in views])


@router.post(
    "/articles",
    response_model=ArticleRead,
    status_code=201,
    summary="Write an article (a draft unless status says otherwise)",
)
def create_article(session: DbSession, principal: KnowledgeWriter, body: ArticleIn) -> ArticleRead:
    return article_read(service.create_article(session, principal, body))


@router.get("/articles/{article_id}", response_model=ArticleRead, summary="One article")
def get_article(
    session: DbSession, principal: WorkspaceReader, article_id: uuid.UUID
) -> ArticleRead:
    return article_read(service.get_article(session, principal.workspace_id, article_id))


@router.patch(
    "/articles/{article_id}",
    response_model=ArticleRead,
    summary="Change an article's category, visibility, owner or review date",
)
def update_article(
    session: DbSession, principal: KnowledgeWriter, article_id: uuid.UUID, body: ArticlePatch
) -> ArticleRead:
    return article_read(service.update_article(session, principal, article_id, body))


@router.delete("/articles/{article_id}", status_code=204, summary="Delete an article")
def delete_article(
    session: DbSession, principal: KnowledgeWriter, article_id: uuid.UUID
) -> Response:
    service.delete_article(session, principal, article_id)
    return Response(status_code=204)


@router.put(
    "/articles/{article_id}/translations/{locale}",
    response_model=TranslationRead,
    summary="Save a new version of the article in one language",
    description="Send `expected_version` (the version you edited) to get 409 "
    "`version_conflict` instead of overwriting someone else's save.",
)
def save_translation(
    session: DbSession,
    principal: KnowledgeWriter,
    article_id: uuid.UUID,
    locale: str,
    body: TranslationIn,
) -> TranslationRead:
    return TranslationRead.model_validate(
        service.save_translation(session, principal, article_id, locale, body)
    )


@router.post(
    "/articles/{article_id}/translations/{locale}/status",
    response_model=TranslationRead,
    summary="Send to review, publish (now or at publish_at), archive, or back to draft",
)
def set_status(
    session: DbSession,
    principal: KnowledgeWriter,
    article_id: uuid.UUID,
    locale: str,
    body: StatusIn,
) -> TranslationRead:
    return TranslationRead.model_validate(
        service.set_status(session, principal, article_id, locale, body.status, body.publish_at)
    )


@router.get(
    "/articles/{article_id}/translations/{locale}/versions",
    response_model=DataList[RevisionRead],
    summary="Every saved version, newest first",
)
def list_versions(
    session: DbSession, principal: WorkspaceReader, article_id: uuid.UUID, locale: str
) -> DataList[RevisionRead]:
    rows = service.revisions(session, principal.workspace_id, article_id, locale)
    return DataList(data=[RevisionRead.model_validate(r) for r in rows])


@router.post(
    "/articles/{article_id}/translations/{locale}/versions/{number}/restore",
    response_model=TranslationRead,
    summary="Bring an earlier version back as the newest",
)
def restore_version(
    session: DbSession,
    principal: KnowledgeWriter,
    article_id: uuid.UUID,
    locale: str,
    number: Annotated[int, Path(ge=1, le=2_000_000_000)],
) -> TranslationRead:
    return TranslationRead.model_validate(
        service.restore(session, principal, article_id, locale, number)
    )


@router.get(
    "/search",
    response_model=SearchRead,
    summary="Search live articles, internal ones included (the agents' search)",
)
def search(
    session: DbSession,
    principal: WorkspaceReader,
    q: Annotated[str, Query(min_length=1, max_length=300)],
    locale: str | None = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    internal: bool = True,
) -> SearchRead:
    workspace = get_workspace(session, principal.workspace_id)
    result = reading.search(
        session, workspace, q, locale, internal=internal, limit=limit, source="console"
    )
    return search_read(result, base="")


class AssetRead(BaseModel):
    id: uuid.UUID
    article_id: uuid.UUID
    filename: str
    content_type: str
    size: int
    url: str
    markdown: str  # what puts it into the article: an image, or a link to the file


def _asset_read(view: assets.AssetView) -> AssetRead:
    return AssetRead(**{f: getattr(view, f) for f in AssetRead.model_fields})


@router.post(
    "/articles/{article_id}/assets",
    response_model=AssetRead,
    status_code=201,
    summary="Add an image or a file to an article (multipart `file`; 10 MB at most)",
)
async def upload_asset(
    session: DbSession, principal: KnowledgeWriter, article_id: uuid.UUID, file: UploadFile
) -> AssetRead:
    data = await file.read(assets.MAX_BYTES + 1)

    def run() -> AssetRead:  # the request's transaction, on a worker thread
        workspace = get_workspace(session, principal.workspace_id)
        view = assets.upload(
            session,
            principal,
            workspace,
            article_id,
            filename=file.filename or "file",
            declared_type=file.content_type,
            data=data,
        )
        return _asset_read(view)

    return await run_in_threadpool(run)


@router.get(
    "/articles/{article_id}/assets",
    response_model=DataList[AssetRead],
    summary="An article's images and files",
)
def list_assets(
    session: DbSession, principal: WorkspaceReader, article_id: uuid.UUID
) -> DataList[AssetRead]:
    workspace = get_workspace(session, principal.workspace_id)
    return DataList(
        data=[_asset_read(v) for v in assets.of_article(session, workspace, article_id)]
    )


@router.delete(
    "/assets/{asset_id}", status_code=204, summary="Remove an image or a file of an article"
)
def delete_asset(session: DbSession, principal: KnowledgeWriter, asset_id: uuid.UUID) -> Response:
    workspace = get_workspace(session, principal.workspace_id)
    assets.remove(session, principal, workspace, asset_id)
    return Response(status_code=204)


def search_read(result: reading.SearchResult, base: str) -> SearchRead:
    return SearchRead(
        query=result.query.text,
        corrected=result.query.corrected,
        search_id=result.search_id,
        results=[
            SearchHitRead(
                article_id=f.article_id,
                slug=f.slug,
                locale=f.locale,
                title=f.title,
                excerpt=f.excerpt,
                url=f"{base}/articles/{f.slug}?lang={f.locale}",
                internal=f.internal,
                score=f.score,
            )
            for f in result.found
        ],
    )


@router.get(
    "/analytics",
    summary="What readers did: views, readers, votes, searches, content gaps, deflection",
)
def get_analytics(
    session: DbSession,
    principal: AnalyticsReader,
    days: Annotated[int, Query(ge=1, le=730)] = 30,
) -> dict[str, Any]:
    report = analytics.report(session, principal.workspace_id, utcnow() - timedelta(days=days))
    encoded: dict[str, Any] = jsonable_encoder(report.as_dict())
    return encoded


@router.get("/settings", response_model=HelpCenterSettings, summary="The help center's settings")
def get_settings(session: DbSession, principal: WorkspaceReader) -> HelpCenterSettings:
    return service.settings_of(get_workspace(session, principal.workspace_id))


@router.put(
    "/settings", response_model=HelpCenterSettings, summary="Set the help center's settings"
)
def put_settings(
    session: DbSession, principal: WorkspaceAdmin, body: HelpCenterSettings
) -> HelpCenterSettings:
    value, _version = service.save_settings(
        session, principal.workspace_id, body.model_dump(), actor=principal
    )
    reading.VOCABULARIES.forget(principal.workspace_id)
    return value
