"""Email as it really arrives: MIME parsing (plain and HTML, any charset, attachments,
encoded headers), quoted replies split from the new text, delivery-status reports
recognised as bounces; and the MIME an outbound reply is sent as."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses, make_msgid, parsedate_to_datetime

import nh3

MAX_ATTACHMENT = 15 * 1024 * 1024
QUOTE_HEADERS = [
    re.compile(r"^On .{0,200}wrote:\s*$", re.IGNORECASE),
    re.compile(r"^Am .{0,200}schrieb .{0,80}:\s*$", re.IGNORECASE),
    re.compile(r"^Le .{0,200}a écrit\s*:\s*$", re.IGNORECASE),
    re.compile(r"^El .{0,200}escribió:\s*$", re.IGNORECASE),
    re.compile(r"^-{2,}\s*Original Message\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^_{10,}\s*$"),
    re.compile(r"^From:\s.+$"),
]
SIGNATURE = re.compile(r"^--\s?$")


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedEmail:
    message_id: str | None
    from_address: str | None
    from_name: str | None
    to: list[str]
    subject: str
    date: datetime | None
    references: list[str]  # In-Reply-To first, then References newest first
    text: str
    quoted: str | None
    html: str | None
    attachments: list[ParsedAttachment] = field(default_factory=list)
    auto_submitted: bool = False
    bounce_for: list[str] = field(default_factory=list)
    bounced_message_id: str | None = None
    complaint_for: list[str] = field(default_factory=list)  # a spam complaint (ARF)


def _ids(value: str | None) -> list[str]:
    return re.findall(r"<[^<>\s]+>", value or "")


def html_to_text(markup: str) -> str:
    text = re.sub(r"(?is)<(script|style|head)[^>]*>.*?</\1>", "", markup)
    text = re.sub(r"(?i)<br\s*/?>", "\n", text)
    text = re.sub(r"(?i)</(p|div|li|tr|h[1-6]|blockquote)>", "\n", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = html.unescape(text)
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def split_quoted(text: str) -> tuple[str, str | None]:
    """The new text of a reply and the part it quotes (``> ...`` lines, "On ... wrote:",
    an Outlook header block), so the thread shows what the customer just wrote."""
    lines = text.replace("\r\n", "\n").split("\n")
    cut = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if any(p.match(stripped) for p in QUOTE_HEADERS):
            cut = i
            break
        if stripped.startswith(">"):
            rest = [ln.strip() for ln in lines[i:] if ln.strip()]
            if all(ln.startswith(">") for ln in rest):
                cut = i
                break
    # A header split over two lines ("On Mon, ... <a@b>\nwrote:").
    if cut is None:
        for i in range(len(lines) - 1):
            joined = f"{lines[i].strip()} {lines[i + 1].strip()}"
            if QUOTE_HEADERS[0].match(joined):
                cut = i
                break
    if cut is None:
        body, quoted = lines, None
    else:
        body, quoted = lines[:cut], "\n".join(lines[cut:]).strip() or None
    for i, line in enumerate(body):
        if SIGNATURE.match(line):
            body = body[:i]
            break
    return "\n".join(body).strip(), quoted


def _text_of(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, UnicodeDecodeError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


def _bounce(msg: EmailMessage) -> tuple[list[str], str | None]:
    if msg.get_content_type() != "multipart/report":
        sender = (msg.get("From") or "").lower()
        if "mailer-daemon" not in sender and "postmaster" not in sender:
            return [], None
    recipients: list[str] = []
    original: str | None = None
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            raw = part.as_string()
            for match in re.finditer(r"(?im)^(?:Final|Original)-Recipient:\s*[^;]+;\s*(\S+)", raw):
                recipients.append(match.group(1).strip("<>").lower())
            if re.search(r"(?im)^Action:\s*delayed", raw):
                return [], None
        elif ctype in ("message/rfc822", "text/rfc822-headers") and original is None:
            found = re.search(r"(?im)^Message-ID:\s*(<[^>]+>)", part.as_string())
            original = found.group(1) if found else None
    return sorted(set(recipients)), original


def _complaint(msg: EmailMessage) -> tuple[list[str], str | None]:
    """A mailbox provider's spam complaint (RFC 5965's feedback report): who complained
    (``Original-Rcpt-To``, else the original message's ``To``) and that message's id."""
    if msg.get_content_type() != "multipart/report":
        return [], None
    if str(msg.get_param("report-type", "")).lower() != "feedback-report":
        return [], None
    recipients: list[str] = []
    original: str | None = None
    original_to: list[str] = []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/feedback-report":
            raw = part.as_string()
            recipients += [
                m.group(1).strip("<>").lower()
                for m in re.finditer(r"(?im)^Original-Rcpt-To:\s*(\S+)", raw)
            ]
        elif ctype in ("message/rfc822", "text/rfc822-headers") and original is None:
            text = part.as_string()
            found = re.search(r"(?im)^Message-ID:\s*(<[^>]+>)", text)
            original = found.group(1) if found else None
            to = re.search(r"(?im)^To:\s*(.+)$", text)
            if to:
                original_to = [a.lower() for _, a in getaddresses([to.group(1)]) if a]
    return sorted(set(recipients or original_to)), original


def parse(raw: bytes) -> ParsedEmail:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    from_pairs = getaddresses([str(msg.get("From", ""))])
    from_name, from_address = from_pairs[0] if from_pairs else ("", "")
    to = [
        a.lower()
        for _, a in getaddresses(
            [
                str(v)
                for v in msg.get_all("To", [])
                + msg.get_all("Cc", [])
                + msg.get_all("Delivered-To", [])
            ]
        )
        if a
    ]
    date = None
    if msg.get("Date"):
        try:
            date = parsedate_to_datetime(str(msg["Date"]))
        except (TypeError, ValueError):
            date = None
    if date is not None and date.tzinfo is None:
        date = None
    refs = _ids(str(msg.get("In-Reply-To", "")))
    for ref in reversed(_ids(str(msg.get("References", "")))):
        if ref not in refs:
            refs.append(ref)
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    html_raw = _text_of(html_part) if html_part is not None else None
    text = _text_of(text_part) if text_part is not None else html_to_text(html_raw or "")
    new_text, quoted = split_quoted(text)
    attachments = []
    for part in msg.iter_attachments():
        if part.get_content_maintype() == "multipart":
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes) or len(data) > MAX_ATTACHMENT:
            continue
        attachments.append(
            ParsedAttachment(
                filename=part.get_filename() or "attachment",
                content_type=part.get_content_type(),
                data=data,
            )
        )
    auto = str(msg.get("Auto-Submitted", "no")).lower() not in ("", "no") or str(
        msg.get("Precedence", "")
    ).lower() in ("bulk", "junk", "auto_reply")
    complaint_for, complained_id = _complaint(msg)
    bounce_for, bounced_id = ([], None) if complaint_for else _bounce(msg)
    return ParsedEmail(
        message_id=next(iter(_ids(str(msg.get("Message-ID", "")))), None),
        from_address=from_address.lower() or None,
        from_name=from_name or None,
        to=to,
        subject=str(msg.get("Subject", "") or "").strip(),
        date=date,
        references=refs,
        text=new_text or text.strip(),
        quoted=quoted,
        html=nh3.clean(html_raw) if html_raw else None,
        attachments=attachments,
        auto_submitted=auto or bool(bounce_for) or bool(complaint_for),
        bounce_for=bounce_for,
        bounced_message_id=bounced_id or complained_id,
        complaint_for=complaint_for,
    )


def new_message_id(domain: str) -> str:
    return make_msgid(domain=domain or "accord.local")


def build(
    *,
    from_address: str,
    from_name: str,
    to: str,
    subject: str,
    body: str,
    message_id: str,
    in_reply_to: str | None,
    references: list[str],
    at: datetime,
    automatic: bool = False,
    unsubscribe: str | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = Address(display_name=from_name, addr_spec=from_address)
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(at)
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references[-10:])
    if automatic:
        msg["Auto-Submitted"] = "auto-generated"
    if unsubscribe:
        # RFC 2369 and RFC 8058: the mailbox provider's unsubscribe button posts
        # "List-Unsubscribe=One-Click" to the link; no login, no page to click through.
        msg["List-Unsubscribe"] = f"<{unsubscribe}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(body)
    paragraphs = "".join(
        f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in body.split("\n\n")
    )
    msg.add_alternative(f"<html><body>{paragraphs}</body></html>", subtype="html")
    return msg
