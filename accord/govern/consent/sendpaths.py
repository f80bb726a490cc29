"""Every way Accord reaches a customer, each asking the consent policy before it acts.

``SEND_PATHS`` names each function that queues, shows or hands over a message to a
customer, with the channel and purpose it asks for. ``TRANSPORTS`` are the functions that
put bytes on a wire to a customer; they take a :class:`~accord.govern.consent.policy.Permit`.
``RECORDS`` are functions that write an outbound message without sending anything (it was
already sent, or it records something a person did), with why.

tests/govern/test_send_paths.py reads the code: a function that writes an outbound
message or calls a transport and is in neither list fails the suite, as does a send path
that does not ask, and a send path without a test that it is refused."""

from __future__ import annotations

from typing import Final

SEND_PATHS: Final = {
    "accord.inbox.service.reply": "an agent's reply by email, text or chat (service); the "
    "call-back number through inbox.service.reach",
    "accord.inbox.csat.request_survey": "the satisfaction survey (surveys by email)",
    "accord.channels.email.deliver_one": "the outbox, at the moment of sending: asks again for "
    "the message's purpose (a withdrawal after it was queued stops it)",
    "accord.channels.sms_inbox.deliver_text": "the outbox's texts (an agent's reply by SMS), "
    "at the moment of sending: asks again (a STOP after it was queued stops it)",
    "accord.social.delivery.deliver_reply": "the outbox's social replies (an agent's answer "
    "to a mention, public or by direct message), at the moment of sending: asks again for "
    "social networks to the author's handle (service)",
    "accord.social.alerts._email": "a social alert to the team's addresses (service by email to "
    "each address: the suppression list applies)",
    "accord.channels.notices.send_confirmation": "the double opt-in confirmation (service by "
    "email)",
    "accord.chat.triggers.fire": "a proactive chat invitation (marketing by chat unless the "
    "trigger says service)",
    "accord.chat.service.start_chat": "an agent opening a chat with a visitor (service by chat)",
    "accord.chat.transcript.send": "a chat transcript the visitor asked for (service by email)",
    "accord.outreach.sending.send_batch": "a campaign's batch: consent asked for every message "
    "of the batch (decide_many, in decide_batch, while the batch before goes out); each "
    "message handed to the relay with the permit of its decision",
    "accord.outreach.service.test_send": "a campaign's test email to a colleague (service by "
    "email to that address)",
}

TRANSPORTS: Final = {
    "accord.channels.email.transport": "SMTP to the customer through the workspace's relay",
    "accord.channels.email.RelaySession.hand_over": "SMTP to the customer over a session kept "
    "open (a campaign's test email)",
    "accord.channels.relay_pool.RelayPool.hand_over": "SMTP to the customer over one of a "
    "delivery job's kept sessions (a campaign's or a journey's emails)",
    "accord.channels.sms.SmsClient.hand_over": "a text to the customer through the workspace's "
    "SMS provider",
    "accord.social.delivery.hand_over": "a reply or a direct message on the network a "
    "mention came from, through its connector",
    "accord.outreach.texts.Texts.hand_over": "a campaign's or journey's text, through "
    "SmsClient with the receipt address of its send",
}

RECORDS: Final = {
    "accord.chat.service.send": "the proactive invitation the visitor answered, "
    "written into the conversation once they reply (it was shown by chat.triggers.fire)",
    "accord.inbox.calls.log_call": "an outbound call the agent made; the number comes from "
    "inbox.service.reach, which asks the policy (calls._number)",
}

# The names by which a send path asks.
ASKS: Final = frozenset({"may_contact", "decide", "decide_many", "reach", "permit", "_number"})
