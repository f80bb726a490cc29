"""Files that customers send in (chat uploads, web-form attachments): which kinds are
taken, and whether a file is what it says it is. A file's declared type is not trusted:
an image or a PDF must begin as one, and a text file must be text."""

from __future__ import annotations

from accord.inbox.intake import NewAttachment
from accord.kit.errors import AccordError, invalid

# The declared type, and how a file of that type begins (None: text, checked otherwise).
SIGNATURES: dict[str, tuple[bytes, ...] | None] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF-",),
    "text/plain": None,
    "text/csv": None,
}
ALLOWED_TYPES = frozenset(SIGNATURES)
KINDS = "an image (PNG, JPEG, GIF, WebP), a PDF or a text file"


def _looks_right(kind: str, data: bytes) -> bool:
    starts = SIGNATURES[kind]
    if starts is None:
        try:
            text = data[:65536].decode("utf-8")
        except UnicodeDecodeError as error:
            if error.start < len(data[:65536]) - 3:  # not just a character cut in two
                return False
            text = data[: error.start].decode("utf-8")
        return "\x00" not in text
    if kind == "image/webp":
        return data.startswith(b"RIFF") and data[8:12] == b"WEBP"
    return data.startswith(starts)


def check_file(f: NewAttachment, max_bytes: int, field: str = "file") -> None:
    """Refuse a file that is too large (413), of a kind not taken or not what it says it
    is (415), or empty (422); normalizes its declared type."""
    if len(f.data) > max_bytes:
        raise AccordError(
            f"A file may be {max_bytes // (1024 * 1024)} MB",
            code="file_too_large",
            status=413,
            field=field,
        )
    kind = (f.content_type or "").split(";")[0].strip().lower()
    if kind not in ALLOWED_TYPES:
        raise AccordError(f"Send {KINDS}", code="file_type_not_allowed", status=415, field=field)
    if not f.data:
        raise invalid("The file is empty", field=field)
    if not _looks_right(kind, f.data):
        raise AccordError(
            f"The file is not the {kind} it says it is",
            code="file_type_mismatch",
            status=415,
            field=field,
        )
    f.content_type = kind
