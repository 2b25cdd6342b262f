"""What one console user may read of a ticket: the single place that masks personal data.

Masked by default (138****5678, 张*, ID and phone numbers inside free text); full values only when
the user asked to reveal them and the role allows it (the caller audits that). A department
handler never gets a protected complainant's identity — not masked, absent — whatever it asks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from bot.accounts.users import Account
from bot.domain.callers import mask_names, names_said
from bot.domain.categories import category_label
from bot.domain.lifecycle import lifecycle
from bot.domain.privacy import mask_name, mask_phone, mask_text, mask_uscc
from bot.store.models import Ticket, TicketEvent
from bot.tickets.service import current_due
from bot.web.console.texts import PROTECTED
from bot.web.console.transcript import row as transcript_row


def identity_hidden(ticket: Ticket, account: Account) -> bool:
    """True when this user must not learn who complained, not even masked."""
    return account.role == "department" and ticket.identity_protected


def may_reveal(ticket: Ticket, account: Account) -> bool:
    return account.role in ("operator", "supervisor", "department") and not identity_hidden(
        ticket, account
    )


def may_see(ticket: Ticket, account: Account) -> bool:
    """Department handlers see only their own department's tickets; admins no tickets."""
    if account.role == "department":
        return bool(account.department) and ticket.department == account.department
    return account.role in ("operator", "supervisor")


@dataclass(frozen=True)
class Masker:
    """Applies the masking decision for one ticket and one user to every field and text."""

    ticket: Ticket
    hidden: bool
    full: bool

    def text(self, value: str | None) -> str:
        if not value:
            return ""
        if self.full:
            return value
        out = value
        # The caller's own name, company and code typed into the story are masked like the fields.
        for secret, masked in (
            (self.ticket.caller_name, self.name()),
            (self.ticket.enterprise_name, self.enterprise()),
            (self.ticket.uscc, self.uscc()),
            (self.ticket.phone, self.phone()),
        ):
            if secret and len(secret) >= 2:
                out = out.replace(secret, masked)
        return mask_text(out)

    def name(self) -> str:
        if self.hidden:
            return PROTECTED
        name = self.ticket.caller_name
        if not name:
            return "匿名"
        return name if self.full else mask_name(name)

    def phone(self) -> str:
        if self.hidden:
            return PROTECTED
        return self.ticket.phone if self.full else mask_phone(self.ticket.phone)

    def enterprise(self) -> str:
        if self.hidden:
            return PROTECTED
        value = self.ticket.enterprise_name or ""
        return value if self.full else mask_name(value)

    def uscc(self) -> str:
        if self.hidden:
            return PROTECTED
        value = self.ticket.uscc or ""
        return value if self.full else mask_uscc(value)


def masker(ticket: Ticket, account: Account, reveal: bool = False) -> Masker:
    hidden = identity_hidden(ticket, account)
    return Masker(ticket, hidden=hidden, full=reveal and not hidden and may_reveal(ticket, account))


def row(ticket: Ticket, account: Account, now: dt.datetime, reveal: bool = False) -> dict[str, Any]:
    """One ticket as a list row or export line."""
    m = masker(ticket, account, reveal)
    due = current_due(ticket)
    states = lifecycle()
    return {
        "number": ticket.number,
        "created_at": ticket.created_at,
        "status": states.state_label(ticket.status),
        "status_code": ticket.status,
        "category": category_label(ticket.category),
        "district": ticket.district,
        "department": ticket.department or "",
        "organization": ticket.organization,
        "description": m.text(ticket.description),
        "amount": ticket.amount,
        "caller_type": "企业" if ticket.caller_type == "enterprise" else "个人",
        "caller_name": m.name(),
        "phone": m.phone(),
        "enterprise": m.enterprise(),
        "uscc": m.uscc(),
        "due": due,
        "overdue": due is not None and now > due,
        "supervision": states.supervision.get(ticket.supervision, ticket.supervision),
        "rating": ticket.rating or "",
        "protected": ticket.identity_protected,
    }


def events(
    ticket: Ticket, history: list[TicketEvent], account: Account, reveal: bool = False
) -> list[dict[str, Any]]:
    m = masker(ticket, account, reveal)
    states = lifecycle()
    out = []
    for e in history:
        note = m.text(e.note)
        if m.hidden and e.action == "file":
            note = PROTECTED  # the filing note holds the caller's corrections (更正姓名 …)
        out.append(
            {
                "at": e.at,
                "actor": e.actor,
                "action": states.action_label(e.action),
                "from": states.state_label(e.from_status) if e.from_status else "",
                "to": states.state_label(e.to_status) if e.to_status else "",
                "note": note,
            }
        )
    return out


def transcript(
    ticket: Ticket, messages: list[Any], account: Account, reveal: bool = False
) -> list[dict[str, Any]] | None:
    """The conversation as this user may read it; None when the identity is hidden from them
    (a protected complainant's own words say who they are)."""
    m = masker(ticket, account, reveal)
    if m.hidden:
        return None
    if m.full:
        return [transcript_row(message, m.text) for message in messages]
    # Masked: the ticket's own fields, and the names the person gave in the chat (老王 when the
    # ticket says 王建国), as on every other transcript (transcript.conversation_masker).
    names = names_said((message.direction, message.text) for message in messages)
    return [
        transcript_row(message, lambda text: m.text(mask_names(text, names, mask_name)))
        for message in messages
    ]
