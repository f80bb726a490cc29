"""Pure pieces of the inbox: business-hours arithmetic and MIME handling."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from accord.channels import mime
from accord.inbox.hours import InvalidSchedule, Schedule

WEEKDAYS = {
    "timezone": "Europe/Lisbon",
    "days": {d: ["09:00", "17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": ["2026-12-25"],
}


def test_business_minutes_skip_nights_weekends_and_holidays() -> None:
    clock = Schedule.parse(WEEKDAYS)
    friday_late = datetime(2026, 11, 27, 16, 30, tzinfo=UTC)  # Lisbon is UTC in winter
    # 30 minutes left on Friday, the other 30 on Monday morning.
    assert clock.add(friday_late, 60) == datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert clock.add(saturday, 15) == datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
    christmas_eve = datetime(2026, 12, 24, 16, 0, tzinfo=UTC)
    assert clock.add(christmas_eve, 120) == datetime(2026, 12, 28, 10, 0, tzinfo=UTC)
    assert clock.between(friday_late, datetime(2026, 11, 30, 9, 30, tzinfo=UTC)) == 3600
    assert clock.is_open(datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
    assert not clock.is_open(saturday)


def test_business_hours_follow_the_time_zone_and_daylight_saving() -> None:
    ny = Schedule.parse({"timezone": "America/New_York", "days": {"mon": ["09:00", "17:00"]}})
    summer = datetime(2026, 7, 6, 12, 0, tzinfo=UTC)  # 08:00 in New York (EDT)
    assert ny.add(summer, 60) == datetime(2026, 7, 6, 14, 0, tzinfo=UTC)
    winter = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)  # 08:00 in New York (EST)
    assert ny.add(winter, 60) == datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


def test_an_empty_schedule_is_around_the_clock() -> None:
    clock = Schedule.parse({})
    start = datetime(2026, 11, 28, 23, 0, tzinfo=UTC)
    assert clock.add(start, 90) == datetime(2026, 11, 29, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "spec",
    [
        {"timezone": "Mars/Olympus", "days": {"mon": ["09:00", "17:00"]}},
        {"days": {"funday": ["09:00", "17:00"]}},
        {"days": {"mon": ["17:00", "09:00"]}},
        {"days": {"mon": ["nine", "five"]}},
    ],
)
def test_bad_schedules_are_refused(spec: dict[str, object]) -> None:
    with pytest.raises(InvalidSchedule):
        Schedule.parse(spec)


def test_quoted_replies_are_split_from_the_new_text() -> None:
    text, quoted = mime.split_quoted(
        "Yes, the blue one.\n\n-- \nDana\n\nOn Tue, 24 Nov 2026 at 10:00, Support <help@x.com>\n"
        "wrote:\n> Which colour?\n"
    )
    assert text == "Yes, the blue one."
    assert quoted is not None
    assert "Which colour?" in quoted
    outlook, quoted = mime.split_quoted(
        "Thanks!\n\n-----Original Message-----\nFrom: Support\nSent: Monday\n"
    )
    assert outlook == "Thanks!"
    assert quoted is not None
    assert quoted.startswith("-----Original Message-----")


def test_html_only_mail_in_another_charset_with_an_attachment() -> None:
    raw = (
        "From: =?iso-8859-1?q?Jos=E9_Pe=F1a?= <jose@example.com>\r\n"
        "To: help@northwind-outdoor.com\r\n"
        "Subject: =?utf-8?b?Q2Fuw6dhbw==?=\r\n"
        "Message-ID: <abc@example.com>\r\n"
        "In-Reply-To: <r1@northwind-outdoor.com>\r\n"
        "References: <r0@northwind-outdoor.com> <r1@northwind-outdoor.com>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\n"
        "Content-Type: text/html; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        "<p>Ol=E1, a tenda <b>chegou</b> partida.</p><script>alert(1)</script>\r\n"
        "--b\r\n"
        'Content-Type: application/pdf; name="recibo.pdf"\r\n'
        'Content-Disposition: attachment; filename="recibo.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
        "JVBERi0xLjQK\r\n"
        "--b--\r\n"
    ).encode("latin-1")
    parsed = mime.parse(raw)
    assert parsed.from_name == "José Peña"
    assert parsed.from_address == "jose@example.com"
    assert parsed.subject == "Cançao"
    assert parsed.text == "Olá, a tenda chegou partida."
    assert parsed.html is not None
    assert "<script>" not in parsed.html
    assert parsed.references == ["<r1@northwind-outdoor.com>", "<r0@northwind-outdoor.com>"]
    assert [(a.filename, a.content_type, a.data) for a in parsed.attachments] == [
        ("recibo.pdf", "application/pdf", b"%PDF-1.4\n")
    ]


def test_a_delivery_status_report_is_a_bounce() -> None:
    raw = (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
        b"To: help@northwind-outdoor.com\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
        b"--r\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        b"--r\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.com\r\n\r\n"
        b"Final-Recipient: rfc822; gone@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"--r\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        b"Message-ID: <reply-1@northwind-outdoor.com>\r\nSubject: Re: Tent\r\n"
        b"--r--\r\n"
    )
    parsed = mime.parse(raw)
    assert parsed.bounce_for == ["gone@example.com"]
    assert parsed.bounced_message_id == "<reply-1@northwind-outdoor.com>"
    assert parsed.auto_submitted


def test_outbound_replies_thread() -> None:
    msg = mime.build(
        from_address="help@northwind-outdoor.com",
        from_name="Ana (Northwind Support)",
        to="dana@example.com",
        subject="Re: Tent",
        body="Hello Dana,\n\nA new pole is on its way.",
        message_id="<m2@northwind-outdoor.com>",
        in_reply_to="<d1@example.com>",
        references=["<m1@northwind-outdoor.com>", "<d1@example.com>"],
        at=datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
    )
    assert msg["In-Reply-To"] == "<d1@example.com>"
    assert msg["References"] == "<m1@northwind-outdoor.com> <d1@example.com>"
    assert msg["Auto-Submitted"] is None
    html = msg.get_body(("html",))
    assert html is not None
    assert "<p>A new pole is on its way.</p>" in html.get_content()
