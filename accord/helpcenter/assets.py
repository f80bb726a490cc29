"""Articles' images and files: kept in the database (so every server of a deployment
serves them), checked before they are kept (size, and a type the bytes confirm: an image
must be the image it says), served from the help center under an address that never
changes (``/help/{slug}/assets/{id}/{filename}``), and written into the article's
Markdown as an image or a link."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from accord.govern.access.principal import Principal
from accord.govern.audit import service as audit
from accord.govern.workspaces.models import Workspace
from accord.helpcenter import service
from accord.helpcenter.models import HelpAsset
from accord.kit.errors import AccordError, invalid, not_found
from accord.kit.ids import new_id
from accord.kit.repository import Repository

MAX_BYTES = 10 * 1024 * 1024
MAX_PER_ARTICLE = 50
# The types an article may carry, and how each one's bytes begin (None: any text).
SIGNATURES: dict[str, tuple[bytes, ...] | None] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF-",),
    "application/zip": (b"PK\x03\x04",),
    "text/plain": None,
    "text/csv": None,
}
EXTENSIONS = {
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
    "webp": "image/webp", "pdf": "application/pdf", "zip": "application/zip",
    "txt": "text/plain", "csv": "text/csv",
}  # fmt: skip
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class AssetView:
    id: uuid.UUID
    article_id: uuid.UUID
    filename: str
    content_type: str
    size: int
    url: str
    markdown: str

    @property
    def image(self) -> bool:
        return self.content_type.startswith("image/")


class AssetRepository(Repository):
    def of_article(self, article_id: uuid.UUID) -> list[HelpAsset]:
        stmt = (
            select(HelpAsset)
            .options(defer(HelpAsset.data))
            .where(HelpAsset.article_id == article_id)
            .order_by(HelpAsset.created_at, HelpAsset.id)
        )
        return list(self.session.scalars(stmt))

    def get(self, workspace_id: uuid.UUID, asset_id: uuid.UUID) -> HelpAsset | None:
        found = self.session.get(HelpAsset, asset_id)
        return found if found is not None and found.workspace_id == workspace_id else None


def safe_name(filename: str) -> str:
    """A file name fit for an address: letters, digits, dots, hyphens."""
    name = _UNSAFE.sub("-", filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip("-.")
    return name[:120] or "file"


def content_type_of(filename: str, declared: str | None, data: bytes) -> str:
    """The file's type, from its name or what was declared, once its bytes agree."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    kind = EXTENSIONS.get(ext) or (declared or "").split(";")[0].strip().lower()
    if kind not in SIGNATURES:
        allowed = ", ".join(sorted(EXTENSIONS))
        raise invalid(f"This kind of file cannot go into an article ({allowed})", field="file")
    signatures = SIGNATURES[kind]
    if signatures is None:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise invalid("A text file must be UTF-8 text", field="file") from None
    elif not data.startswith(signatures) or (kind == "image/webp" and data[8:12] != b"WEBP"):
        raise invalid(f"The file is not the {kind} its name says", field="file")
    return kind


def _view(workspace: Workspace, asset: HelpAsset) -> AssetView:
    url = f"/help/{workspace.slug}/assets/{asset.id}/{asset.filename}"
    label = asset.filename.rsplit(".", 1)[0].replace("-", " ").replace("_", " ")
    markdown = (
        f"![{label}]({url})" if asset.content_type.startswith("image/") else f"[{label}]({url})"
    )
    return AssetView(
        asset.id, asset.article_id, asset.filename, asset.content_type, asset.size, url, markdown
    )


def upload(
    session: Session,
    actor: Principal,
    workspace: Workspace,
    article_id: uuid.UUID,
    *,
    filename: str,
    declared_type: str | None,
    data: bytes,
) -> AssetView:
    view = service.get_article(session, workspace.id, article_id)
    if not data:
        raise invalid("The file is empty", field="file")
    if len(data) > MAX_BYTES:
        raise AccordError(
            f"A file may be {MAX_BYTES // (1024 * 1024)} MB at most",
            "too_large",
            413,
            field="file",
        )
    repo = AssetRepository.from_session(session)
    if len(repo.of_article(article_id)) >= MAX_PER_ARTICLE:
        raise invalid(f"An article carries {MAX_PER_ARTICLE} files at most", field="file")
    name = safe_name(filename)
    kind = content_type_of(name, declared_type, data)
    asset = HelpAsset(
        id=new_id(),
        workspace_id=workspace.id,
        article_id=view.article.id,
        filename=name,
        content_type=kind,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        uploaded_by=actor.label,
    )
    session.add(asset)
    session.flush()
    audit.record(
        session,
        actor,
        "help.asset.upload",
        target=str(asset.id),
        data={"article_id": str(article_id), "filename": name, "size": len(data)},
    )
    return _view(workspace, asset)


def of_article(session: Session, workspace: Workspace, article_id: uuid.UUID) -> list[AssetView]:
    service.get_article(session, workspace.id, article_id)  # 404 for another's
    return [
        _view(workspace, a) for a in AssetRepository.from_session(session).of_article(article_id)
    ]


def remove(session: Session, actor: Principal, workspace: Workspace, asset_id: uuid.UUID) -> None:
    asset = AssetRepository.from_session(session).get(workspace.id, asset_id)
    if asset is None:
        raise not_found("File", field="asset_id")
    session.delete(asset)
    session.flush()
    audit.record(
        session, actor, "help.asset.remove", target=str(asset_id), data={"filename": asset.filename}
    )


def for_reader(
    session: Session, workspace: Workspace, asset_id: uuid.UUID, *, agent: bool = False
) -> HelpAsset:
    """A file as the help center serves it: one of a public article (an agents-only
    article's files are for signed-in agents, ``agent``)."""
    asset = AssetRepository.from_session(session).get(workspace.id, asset_id)
    if asset is None:
        raise not_found("File")
    if not agent:
        article = service.get_article(session, workspace.id, asset.article_id).article
        if article.visibility != "public":
            raise not_found("File")
    return asset
