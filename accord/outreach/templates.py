"""Message templates: Jinja2 in a sandbox (a template can read the person it is rendered
for and call no Python), compiled once per campaign or step and rendered per person from
their golden record, computed values and scores. An email becomes MIME bytes here,
directly: building an ``EmailMessage`` per recipient would cost more than sending it."""

from __future__ import annotations

import binascii
import html as html_lib
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateError, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from accord.kit.errors import AccordError, FieldError

_TEXT = ImmutableSandboxedEnvironment(undefined=ChainableUndefined, autoescape=False)
_HTML = ImmutableSandboxedEnvironment(undefined=ChainableUndefined, autoescape=True)
for _env in (_TEXT, _HTML):
    _env.filters["money"] = lambda v, currency="": (
        f"{currency}{float(v or 0):,.2f}" if currency else f"{float(v or 0):,.2f}"
    )

# Traits by the names a template most likely uses, beside their stored names.
ALIASES = {
    "first_name": ("firstName", "first_name"),
    "last_name": ("lastName", "last_name"),
    "name": ("name",),
    "email": ("email",),
    "phone": ("phone",),
    "city": ("address.city", "city"),
    "country": ("address.country", "country"),
    "timezone": ("timezone", "timeZone"),
}


@dataclass(frozen=True)
class Content:
    """What a campaign or a journey step sends: an email's subject, HTML and text, or an
    SMS's text."""

    channel: str
    subject: str = ""
    html: str = ""
    text: str = ""


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


def _compile(env: ImmutableSandboxedEnvironment, source: str, name: str) -> Any:
    try:
        return env.from_string(source)
    except TemplateSyntaxError as exc:
        message = f"{name}, line {exc.lineno}: {exc.message}"
        raise AccordError(
            f"The template does not compile: {message}",
            code="bad_template",
            status=422,
            field=name,
            errors=[FieldError(name, "bad_template", message)],
        ) from None


class Compiled:
    """A content's templates, compiled."""

    def __init__(self, content: Content) -> None:
        self.content = content
        self.subject = _compile(_TEXT, content.subject, "subject")
        self.text = _compile(_TEXT, content.text, "text")
        self.html = _compile(_HTML, content.html, "html") if content.html else None

    def render(self, context: dict[str, Any]) -> Rendered:
        # The three templates read one context holding the environment's globals
        # (``range``...), merged once: ``Template.render`` merges them for each template.
        merged = {**_GLOBALS, **context}
        try:
            return Rendered(
                subject=" ".join(_render(self.subject, merged).split()),
                html=_render(self.html, merged) if self.html is not None else "",
                text=_render(self.text, merged),
            )
        except TemplateError as exc:  # a sandbox refusal, a filter that failed
            raise AccordError(
                f"The template could not be rendered: {exc}", code="bad_template", status=422
            ) from None


_GLOBALS = dict(_TEXT.globals)  # the same in both environments: the defaults


def _render(template: Any, merged: dict[str, Any]) -> str:
    """``Template.render`` with its context's variables already merged with the globals
    (``shared``: taken as they are, not copied again)."""
    context = template.new_context(merged, shared=True)
    try:
        return str(template.environment.concat(template.root_render_func(context)))
    except Exception:
        return str(template.environment.handle_exception())


def value_of(raw: Any) -> Any:
    """A golden-record trait's value (traits are kept with their provenance)."""
    return raw.get("value") if isinstance(raw, dict) and "value" in raw else raw


def person_context(
    profile: Any, score: Any | None = None, computed: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What a template may read of a person: ``person`` (every trait by its name, and
    ``first_name``, ``city``... by the usual ones), ``values`` (revenue, orders, average
    order, first and last seen, last order) and ``scores`` (lifetime value, churn risk,
    RFM group, persona)."""
    traits = {k: value_of(v) for k, v in (profile.traits or {}).items()}
    person: dict[str, Any] = dict(traits)
    for alias, names in ALIASES.items():
        for name in names:
            if traits.get(name) not in (None, ""):
                person[alias] = traits[name]
                break
    person.setdefault("name", profile.display_name or "")
    person["email"] = person.get("email") or profile.email or ""
    person["phone"] = person.get("phone") or profile.phone or ""
    person["id"] = str(profile.id)
    stats = profile.stats or {}
    values = {
        "revenue": float(profile.revenue or 0),
        "orders": int(profile.order_count or 0),
        "average_order": float(stats.get("average_order_value") or 0),
        "last_order_at": stats.get("last_order_at"),
        "first_seen": profile.first_seen_at,
        "last_seen": profile.last_seen_at,
        "preferred_channel": stats.get("preferred_channel"),
    }
    scores: dict[str, Any] = {}
    if score is not None:
        for key in (
            "clv",
            "churn_risk",
            "p_alive",
            "expected_purchases",
            "rfm_group",
            "persona_name",
            "relationship_value",
        ):
            scores[key] = getattr(score, key, None)
    return {"person": person, "values": values, "scores": scores, "computed": computed or {}}


# --- email bytes ------------------------------------------------------------------------

_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?://[^"']+)\2""", re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def track_links(html: str, wrap: Any) -> str:
    """Every ``http(s)`` link of an HTML body through ``wrap(url)`` (the tracked redirect);
    ``mailto:``, ``tel:`` and anchors stay as they are."""
    return _HREF.sub(
        lambda m: (
            f"{m.group(1)}{m.group(2)}{html_lib.escape(wrap(html_lib.unescape(m.group(3))))}"
            f"{m.group(2)}"
        ),
        html,
    )


def add_before_body_end(html: str, piece: str) -> str:
    ends = list(_BODY_END.finditer(html))
    if not ends:
        return html + piece
    at = ends[-1].start()
    return html[:at] + piece + html[at:]


def text_as_html(text: str) -> str:
    paragraphs = "".join(
        f"<p>{html_lib.escape(p).replace(chr(10), '<br>')}</p>" for p in text.split("\n\n") if p
    )
    return f"<html><body>{paragraphs}</body></html>"


def _header(value: str) -> str:
    if value.isascii() and "\n" not in value and "\r" not in value:
        return value
    return Header(value.replace("\r", " ").replace("\n", " "), "utf-8").encode()


def _qp(text: str) -> bytes:
    body = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    return binascii.b2a_qp(body)


@lru_cache(maxsize=256)
def from_header(name: str, address: str) -> str:
    return formataddr((name, address), "utf-8")


@lru_cache(maxsize=64)
def date_header(at: datetime) -> str:
    return format_datetime(at)


@dataclass
class Envelope:
    sender: str
    sender_name: str
    to: str
    subject: str
    message_id: str
    at: datetime
    unsubscribe: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def email_bytes(envelope: Envelope, text: str, html: str, unique: uuid.UUID | None = None) -> bytes:
    """A multipart/alternative email (text and HTML, quoted-printable UTF-8), with the
    one-click unsubscribe headers of RFC 8058 when there is a link. Its parts' boundary
    is made of ``unique`` (a send's id), or of a random id."""
    boundary = f"=_accord_{(unique or uuid.uuid4()).hex}"
    lines = [
        f"From: {from_header(envelope.sender_name, envelope.sender)}",
        f"To: {envelope.to}",
        f"Subject: {_header(envelope.subject)}",
        f"Date: {date_header(envelope.at)}",
        f"Message-ID: {envelope.message_id}",
        "MIME-Version: 1.0",
        "Auto-Submitted: auto-generated",
    ]
    if envelope.unsubscribe:
        lines.append(f"List-Unsubscribe: <{envelope.unsubscribe}>")
        lines.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    for name, value in envelope.headers.items():
        lines.append(f"{name}: {_header(value)}")
    lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")
    part = (
        'Content-Type: text/{}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    )
    out = [
        head,
        f"--{boundary}\r\n".encode(),
        part.format("plain").encode(),
        _qp(text),
        f"\r\n--{boundary}\r\n".encode(),
        part.format("html").encode(),
        _qp(html),
        f"\r\n--{boundary}--\r\n".encode(),
    ]
    return b"".join(out)
