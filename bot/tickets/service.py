"""The ticket service: the only code that writes tickets.

The bot tells a caller "已受理" only after `file()` has committed, and a lookup never reveals
whether a ticket number exists unless the access code matches.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from rapidfuzz import fuzz
from sqlalchemy import ColumnElement, and_, case, func, null, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain import tickets as numbering
from bot.domain.categories import category_label
from bot.domain.clock import CHINA_TZ, utcnow
from bot.domain.lifecycle import IllegalTransition, Lifecycle, lifecycle
from bot.domain.privacy import mask_name, mask_phone, mask_text
from bot.domain.text import normalize
from bot.domain.workdays import WorkCalendar, load_calendar
from bot.privacy.keys import access_code_key
from bot.store.models import (
    Conversation,
    ConversationMessage,
    Handoff,
    Ticket,
    TicketEvent,
    TicketSequence,
)
from bot.tickets.routing import Route, Router, load_routing

__all__ = ["IllegalTransition", "TicketService", "TicketDraft", "TicketView", "UnknownTicket"]

DUPLICATE_WINDOW = dt.timedelta(days=30)
# Character similarity (rapidfuzz partial ratio, 0–100) above which two descriptions from the
# same phone about the same respondent are taken to be the same matter.
DUPLICATE_SIMILARITY = 60.0
RATINGS = ("满意", "基本满意", "不满意")

# China has had no daylight saving time since 1991: a fixed offset is exact.


@dataclass(frozen=True)
class TicketDraft:
    """What the intake form collected; validated before it gets here."""

    description: str
    organization: str
    district: str
    phone: str
    sender_id: str
    category: str = "unclassified"
    channel: str = "chat"
    occurred_on: str | None = None
    amount: Decimal | None = None
    caller_type: str = "citizen"
    caller_name: str | None = None
    enterprise_name: str | None = None
    uscc: str | None = None
    identity_protected: bool = False
    # What the caller corrected during intake, as (field label, said first, corrected to):
    # the ticket's history keeps the first version (nothing a caller said is lost).
    corrections: tuple[tuple[str, str, str], ...] = ()
    # How the ticket came in when it is not the chat form (企业一键报送): kept in the history.
    intake_note: str | None = None


@dataclass(frozen=True)
class FiledTicket:
    number: str
    # None when this filing was a replay of an earlier one: the code was shown then, and
    # only its hash is kept.
    access_code: str | None
    created: bool
    department: str | None = None  # None: an operator dispatches it
    deadline: dt.datetime | None = None  # of the next step (signing, or dispatch)
    answer_working_days: int = 13
    # The row as written (detached, no history loaded), for a caller that answers with more of
    # it than the above (the enterprise API) without reading it back; None for a replay.
    ticket: Ticket | None = field(default=None, repr=False, compare=False)


class UnknownTicket(LookupError):
    """No ticket with that number (or not one this caller may act on)."""


@dataclass(frozen=True)
class TicketView:
    """What a caller who proved ownership may see (labels in Chinese)."""

    number: str
    category: str
    status: str
    organization: str
    district: str
    created_at: dt.datetime
    status_code: str = "received"
    department: str | None = None
    deadline: dt.datetime | None = None  # of the step the ticket waits for now
    overdue: bool = False
    reply: str | None = None
    supervision: str = "无"
    rating: str | None = None


@dataclass(frozen=True)
class Duplicate:
    number: str
    created_at: dt.datetime
    similarity: float


# Tickets per transaction of the deadline sweep.
SWEEP_BATCH = 200


@dataclass(frozen=True)
class SweepResult:
    urged: list[str] = field(default_factory=list)
    supervised: list[str] = field(default_factory=list)


class TicketService:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Callable[[], dt.datetime] = utcnow,
        *,
        router: Router | None = None,
        calendar: WorkCalendar | None = None,
        states: Lifecycle | None = None,
        code_key: bytes | None = None,
    ) -> None:
        self._sessions = session_factory
        # The access-code key (bot/privacy/keys.py); resolved on first use when not given.
        self._code_key = code_key
        self._clock = clock
        self._router = router or load_routing()
        self._calendar = calendar or load_calendar()
        self._lifecycle = states or lifecycle()

    def file(
        self,
        draft: TicketDraft,
        *,
        idempotency_key: str | None = None,
        claim: Callable[[Session], bool] | None = None,
    ) -> FiledTicket:
        """File a new ticket (status 已受理) with a fresh number and access code.

        A second call with the same idempotency key returns the first ticket instead of filing
        again, also when both calls race each other. `claim` runs first inside the filing's
        transaction (the enterprise API records its Idempotency-Key there and raises to refuse a
        reused key): one transaction, so a burst of filings holds SQLite's write lock once each.
        A claim that answers True recorded its key just now, in this transaction, so no ticket
        can carry the key yet and the look-up by key is skipped.
        """
        code = numbering.new_access_code()
        code_hash = numbering.hash_access_code(code, self.code_key)
        now = self._clock()
        route = self._router.route(draft.category, draft.district or None, draft.description)
        try:
            with self._sessions.begin() as session:
                fresh_key = claim(session) if claim is not None else False
                if idempotency_key and not fresh_key:
                    existing = self._by_idempotency_key(session, idempotency_key)
                    if existing:
                        return existing
                number = self._next_number(session, now)
                ticket = Ticket(
                    number=number,
                    access_code_hash=code_hash,
                    status="received",
                    category=draft.category,
                    description=draft.description,
                    organization=draft.organization,
                    district=draft.district,
                    phone=draft.phone,
                    channel=draft.channel,
                    sender_id=draft.sender_id,
                    idempotency_key=idempotency_key,
                    created_at=now,
                    updated_at=now,
                    occurred_on=draft.occurred_on,
                    amount=draft.amount,
                    caller_type=draft.caller_type,
                    caller_name=draft.caller_name,
                    enterprise_name=draft.enterprise_name,
                    uscc=draft.uscc,
                    identity_protected=draft.identity_protected,
                    urgent=route.urgent,
                    co_handlers="、".join(route.co_handlers),
                    answer_working_days=route.deadlines.answer_working_days,
                    escalate_after_working_days=route.deadlines.escalate_after_working_days,
                    supervision="none",
                    dispatch_due_at=self._dispatch_due(now, route),
                )
                self._record(
                    ticket,
                    "file",
                    "citizen",
                    now,
                    note="；".join(
                        [f"channel={draft.channel}"]
                        + ([draft.intake_note] if draft.intake_note else [])
                        + [f"更正{label}：{old} → {new}" for label, old, new in draft.corrections]
                    ),
                    after="received",
                )
                if draft.category != "unclassified":
                    # The routing table decides; an unclassified complaint waits for an
                    # operator, within the same-day dispatch deadline.
                    self._apply(
                        ticket,
                        "dispatch",
                        "system",
                        now,
                        note=f"按派单规则「{route.rule}」派至{route.lead}",
                        department=route.lead,
                        route=route,
                    )
                session.add(ticket)
        except IntegrityError:
            # Lost a race on the idempotency key (PostgreSQL; SQLite writers queue): the other
            # filing is the ticket — or, through `claim`, the reason to refuse this one.
            if idempotency_key:
                with self._sessions.begin() as session:
                    if claim is not None:
                        claim(session)
                    existing = self._by_idempotency_key(session, idempotency_key)
                if existing:
                    return existing
            raise
        return FiledTicket(
            number=number,
            access_code=code,
            created=True,
            department=ticket.department,
            deadline=self._current_due(ticket),
            answer_working_days=ticket.answer_working_days,
            ticket=ticket,
        )

    @property
    def code_key(self) -> bytes:
        if self._code_key is None:
            self._code_key = access_code_key()
        return self._code_key

    def lookup(self, number: str, access_code: str) -> TicketView | None:
        """The ticket if number and access code match; None for every kind of mismatch alike."""
        with self._sessions() as session:
            ticket = session.scalars(select(Ticket).where(Ticket.number == number.upper())).first()
            if not self._code_fits(access_code, ticket.access_code_hash if ticket else None):
                return None
            assert ticket is not None
            return self._view(ticket)

    def code_matches(self, number: str, access_code: str) -> bool:
        """Whether the code opens this ticket, reading only its hash (the look-up guard's check
        before it counts a failure)."""
        with self._sessions() as session:
            stored = session.scalars(
                select(Ticket.access_code_hash).where(Ticket.number == number.upper())
            ).first()
        return self._code_fits(access_code, stored)

    def _code_fits(self, access_code: str, stored: str | None) -> bool:
        """One hash check whether or not the ticket exists, so timing does not tell which
        numbers exist (tests/test_safety_lookup_guard.py measures it)."""
        key = self.code_key
        matches = numbering.check_access_code(access_code, stored or _dummy_hash(key), key)
        return stored is not None and matches

    def tickets_of_sender(self, sender_id: str, limit: int = 5) -> list[TicketView]:
        """The chat sender's own tickets, newest first: the same sender needs no access code."""
        with self._sessions() as session:
            rows = session.scalars(
                select(Ticket)
                .where(Ticket.sender_id == sender_id)
                .order_by(Ticket.created_at.desc(), Ticket.id.desc())
                .limit(limit)
            ).all()
            return [self._view(t) for t in rows]

    def confirmation_recorded(self, number: str, sender_id: str) -> bool:
        """Whether the gateway recorded a reply naming this ticket in the conversation that
        filed it. When it did not, the person never saw the number and code: the reply was
        lost (Rasa answered after the gateway's timeout, the filing missed the action's budget
        and the person was told the system was busy, the record failed). A conversation the
        gateway never recorded (Rasa's REST channel used directly, by tools and tests) gives no
        evidence of a loss: True."""
        with self._sessions() as session:
            conversation = session.scalars(
                select(Conversation.id).where(Conversation.rasa_sender_id == sender_id)
            ).first()
            if conversation is None:
                return True
            found = session.scalars(
                select(ConversationMessage.id)
                .where(
                    ConversationMessage.conversation_id == conversation,
                    ConversationMessage.direction == "out",
                    ConversationMessage.text.contains(number.upper(), autoescape=True),
                )
                .limit(1)
            ).first()
        return found is not None

    def reissue_code(self, number: str, sender_id: str) -> str | None:
        """A fresh access code for the conversation that filed the ticket (None for any other):
        the new hash replaces the old one, so the old code stops working, and the history
        records it. The conversation's owner may already read and act on the ticket without a
        code, so giving it a new one grants nothing new; a person who lost the filing reply
        gets a code to use elsewhere (another device, another conversation)."""
        code = numbering.new_access_code()
        code_hash = numbering.hash_access_code(code, self.code_key)
        now = self._clock()
        with self._sessions.begin() as session:
            ticket = self._locked(session, number)
            if not sender_id or ticket.sender_id != sender_id:
                return None
            ticket.access_code_hash = code_hash
            ticket.updated_at = now
            self._apply(
                ticket, "reissue_code", "citizen", now, note="对话内重新生成提取码，原提取码作废"
            )
        return code

    def owned_by(self, number: str, sender_id: str) -> TicketView | None:
        with self._sessions() as session:
            ticket = self._get(session, number)
            if ticket is None or ticket.sender_id != sender_id:
                return None
            return self._view(ticket)

    def act(
        self,
        number: str,
        action: str,
        *,
        actor: str,
        note: str | None = None,
        department: str | None = None,
    ) -> TicketView:
        """Apply one lifecycle action (派单, 签收, 退单, 答复, 办结, 督办 …) and log it."""
        now = self._clock()
        with self._sessions.begin() as session:
            ticket = self._locked(session, number)
            self._apply(ticket, action, actor, now, note=note, department=department)
            return self._view(ticket, now)

    def supplement(
        self, number: str, text: str, *, actor: str = "citizen", amount: Decimal | None = None
    ) -> TicketView:
        """More facts from the caller; a new amount replaces the old one (both stay in the log)."""
        now = self._clock()
        with self._sessions.begin() as session:
            ticket = self._locked(session, number)
            note = text
            if amount is not None and amount != ticket.amount:
                note = f"{text}（金额：{_money(ticket.amount)} → {_money(amount)}）"
                ticket.amount = amount
            self._apply(ticket, "supplement", actor, now, note=note)
            return self._view(ticket, now)

    def urge(self, number: str, *, actor: str = "citizen") -> tuple[TicketView, bool]:
        """催办. The caller's second urge after the answer deadline lapsed escalates to 督办.

        Returns the ticket and whether this urge escalated it."""
        now = self._clock()
        with self._sessions.begin() as session:
            ticket = self._locked(session, number)
            self._apply(ticket, "urge", actor, now, note="来电人催办")
            escalated = False
            due = self._current_due(ticket)
            if due is not None and now > due and ticket.supervision == "none":
                urges_after_due = sum(
                    1
                    for e in ticket.events
                    if e.action == "urge" and e.actor == actor and e.at > due
                )
                if urges_after_due >= 2:
                    self._apply(
                        ticket, "supervise", "system", now, note="超期后来电人再次催办，转督办"
                    )
                    escalated = True
            return self._view(ticket, now), escalated

    def rate(
        self, number: str, rating: str, reason: str = "", *, actor: str = "citizen"
    ) -> TicketView:
        """The caller's 回访 answer on a closed ticket; 不满意 reopens it (重办)."""
        if rating not in RATINGS:
            raise ValueError(f"评价只能是：{'、'.join(RATINGS)}")
        now = self._clock()
        with self._sessions.begin() as session:
            ticket = self._locked(session, number)
            if ticket.status != "closed":
                raise IllegalTransition(
                    f"工单处于「{self._lifecycle.state_label(ticket.status)}」，办结后才能评价",
                    action="revisit",
                    state=ticket.status,
                )
            ticket.rating = rating
            self._apply(
                ticket, "revisit", actor, now, note=f"{rating}{'：' + reason if reason else ''}"
            )
            if rating == "不满意":
                self._apply(
                    ticket, "reopen", "system", now, note=f"来电人不满意：{reason or '未说明原因'}"
                )
            return self._view(ticket, now)

    def find_duplicate(self, phone: str, organization: str, description: str) -> Duplicate | None:
        """An earlier ticket (30 days) from the same phone about the same respondent and matter."""
        now = self._clock()
        respondent = _key(organization)
        wanted = _key(description)
        if not phone or not respondent or not wanted:
            return None
        best: Duplicate | None = None
        with self._sessions() as session:
            rows = session.scalars(
                select(Ticket)
                .where(Ticket.phone == phone, Ticket.created_at >= now - DUPLICATE_WINDOW)
                .order_by(Ticket.created_at.desc())
            ).all()
            for ticket in rows:
                other = _key(ticket.organization)
                if not other or not (respondent in other or other in respondent):
                    continue
                score = float(fuzz.partial_ratio(wanted, _key(ticket.description)))
                if score >= DUPLICATE_SIMILARITY and (best is None or score > best.similarity):
                    best = Duplicate(ticket.number, ticket.created_at, score)
        return best

    def attach(self, number: str, description: str, *, actor: str = "citizen") -> TicketView:
        """A repeated complaint joins the earlier ticket instead of becoming a new one."""
        now = self._clock()
        with self._sessions.begin() as session:
            ticket = self._locked(session, number)
            self._apply(ticket, "attach", actor, now, note=description)
            return self._view(ticket, now)

    def request_handoff(
        self,
        sender_id: str,
        reason: str,
        *,
        channel: str = "chat",
        ticket_number: str | None = None,
    ) -> int:
        """Put the conversation in the operator queue; returns its place in the queue."""
        now = self._clock()
        with self._sessions.begin() as session:
            waiting = session.scalars(
                select(Handoff).where(Handoff.sender_id == sender_id, Handoff.status == "waiting")
            ).first()
            if waiting is None:
                waiting = Handoff(
                    sender_id=sender_id,
                    channel=channel,
                    reason=reason[:2000],
                    ticket_number=ticket_number,
                    status="waiting",
                    created_at=now,
                )
                session.add(waiting)
                session.flush()
            ahead = session.scalar(
                select(func.count())
                .select_from(Handoff)
                .where(Handoff.status == "waiting", Handoff.id < waiting.id)
            )
            return int(ahead or 0) + 1

    def mark_handoff(self, handoff_id: int, status: str) -> None:
        """The operator queue: a person took the conversation (taken) or gave it back (done)."""
        if status not in ("taken", "done"):
            raise ValueError(status)
        with self._sessions.begin() as session:
            handoff = session.get(Handoff, handoff_id)
            if handoff is None:
                raise UnknownTicket(f"handoff {handoff_id}")
            handoff.status = status

    def sweep(self, *, batch: int = SWEEP_BATCH) -> SweepResult:
        """Log 催办 for every lapsed deadline and 督办 for a further lapse (run periodically).

        Repeated sweeps add nothing new: a lapse is urged once, escalated once. Only lapsed
        tickets are read (`_lapsed`), `batch` at a time in id order, each batch its own short
        transaction: filing and answering never wait behind one sweep over every open ticket.
        PostgreSQL: a batch locks its rows (FOR UPDATE SKIP LOCKED) and reads them as committed
        at that moment, so two sweeps at once (`hotline sweep` from cron beside the web
        service's round) never urge a ticket twice, and a ticket a department is acting on is
        left for the next round instead of waited for. SQLite: every transaction takes the
        database's write lock (BEGIN IMMEDIATE), which already runs the batches one at a time."""
        now = self._clock()
        result = SweepResult()
        open_states = sorted(self._lifecycle.open_states)
        after = 0
        while True:
            with self._sessions.begin() as session:
                query = (
                    select(Ticket)
                    .where(Ticket.id > after, _lapsed(open_states, now))
                    .order_by(Ticket.id)
                    .limit(batch)
                )
                if session.get_bind().dialect.name == "postgresql":
                    query = query.with_for_update(skip_locked=True)
                tickets = session.scalars(query).all()
                for ticket in tickets:
                    self._sweep_one(ticket, now, result)
            if len(tickets) < batch:
                return result
            after = tickets[-1].id

    def _sweep_one(self, ticket: Ticket, now: dt.datetime, result: SweepResult) -> None:
        due = self._current_due(ticket)
        if due is None or now <= due:
            return
        if ticket.escalate_due_at is None or ticket.escalate_due_at < due:
            ticket.escalate_due_at = self._working_days_after(
                due, ticket.escalate_after_working_days
            )
            self._apply(
                ticket,
                "urge",
                "system",
                now,
                note=f"已超过{waiting_step(ticket.status)}期限，自动催办",
            )
            result.urged.append(ticket.number)
        elif now > ticket.escalate_due_at and ticket.supervision == "none":
            self._apply(ticket, "supervise", "system", now, note="催办后仍超期，自动转督办")
            result.supervised.append(ticket.number)

    def history(self, number: str) -> list[TicketEvent]:
        with self._sessions() as session:
            ticket = self._get(session, number)
            if ticket is None:
                raise UnknownTicket(number)
            events = list(ticket.events)
            session.expunge_all()
            return events

    def detail(self, number: str, *, role: str) -> dict[str, object]:
        """A ticket as an operator, a handling department or supervision staff may see it.

        Phones and names are masked for operators, also inside the description; a department
        never sees who complained when the caller asked for protection; only supervision staff
        see the caller in full."""
        with self._sessions() as session:
            ticket = self._get(session, number)
            if ticket is None:
                raise UnknownTicket(number)
            view = self._view(ticket)
            facts: dict[str, object] = {
                "number": ticket.number,
                "category": view.category,
                "status": view.status,
                # Callers type their numbers into the story too ("我电话138 1234 5678").
                "description": ticket.description
                if role == "supervisor"
                else mask_text(ticket.description),
                "organization": ticket.organization,
                "district": ticket.district,
                "occurred_on": ticket.occurred_on,
                "amount": _money(ticket.amount) if ticket.amount is not None else None,
                "department": ticket.department,
                "deadline": view.deadline,
                "overdue": view.overdue,
                "supervision": view.supervision,
            }
            if role == "supervisor":
                caller = {"name": ticket.caller_name, "phone": ticket.phone}
            elif role == "department" and ticket.identity_protected:
                caller = {"name": "（身份保护）", "phone": "（身份保护）"}
            else:
                caller = {"name": mask_name(ticket.caller_name), "phone": mask_phone(ticket.phone)}
            facts["caller"] = {
                **caller,
                "type": ticket.caller_type,
                "enterprise": None
                if role == "department" and ticket.identity_protected
                else ticket.enterprise_name,
            }
            return facts

    # -- internals -------------------------------------------------------------------------

    def _get(self, session: Session, number: str) -> Ticket | None:
        return session.scalars(select(Ticket).where(Ticket.number == number.upper())).first()

    def _locked(self, session: Session, number: str) -> Ticket:
        ticket = session.scalars(
            select(Ticket).where(Ticket.number == number.upper()).with_for_update()
        ).first()
        if ticket is None:
            raise UnknownTicket(number)
        return ticket

    def _apply(
        self,
        ticket: Ticket,
        action: str,
        actor: str,
        now: dt.datetime,
        *,
        note: str | None = None,
        department: str | None = None,
        route: Route | None = None,
    ) -> None:
        """One lifecycle action; `route` saves routing again when the caller already has it."""
        before = ticket.status
        after = self._lifecycle.apply(action, before, {"note": note, "department": department})
        if action in ("dispatch", "redispatch"):
            self._dispatch(ticket, str(department), route or self._route_of(ticket), now)
        elif action == "return":
            ticket.dispatch_due_at = self._dispatch_due(now, route or self._route_of(ticket))
            ticket.sign_due_at = None
        elif action == "sign":
            ticket.answer_due_at = self._working_days_after(now, ticket.answer_working_days)
        elif action == "answer":
            ticket.reply = note
        elif action == "reopen":
            ticket.answer_due_at = self._working_days_after(now, ticket.answer_working_days)
            ticket.escalate_due_at = None
        elif action == "supervise":
            ticket.supervision = "supervised"
        elif action == "list_supervision":
            ticket.supervision = "listed"
        ticket.status = after
        ticket.updated_at = now
        self._record(ticket, action, actor, now, note=note, before=before, after=after)

    def _record(
        self,
        ticket: Ticket,
        action: str,
        actor: str,
        now: dt.datetime,
        *,
        note: str | None = None,
        before: str | None = None,
        after: str | None = None,
    ) -> None:
        ticket.events.append(
            TicketEvent(
                at=now, actor=actor, action=action, from_status=before, to_status=after, note=note
            )
        )

    def _dispatch(self, ticket: Ticket, department: str, route: Route, now: dt.datetime) -> None:
        ticket.department = department
        ticket.status = "dispatched"
        hours = route.deadlines.dispatch_hours
        if hours:
            ticket.sign_due_at = now + dt.timedelta(hours=hours)
        else:
            ticket.sign_due_at = self._working_days_after(now, route.deadlines.sign_working_days)
        ticket.answer_due_at = None

    def _route_of(self, ticket: Ticket) -> Route:
        return self._router.route(ticket.category, ticket.district or None, ticket.description)

    def _dispatch_due(self, now: dt.datetime, route: Route) -> dt.datetime:
        hours = route.deadlines.dispatch_hours
        if hours:
            return now + dt.timedelta(hours=hours)
        return self._calendar.next_office_close(now)  # 当日交办

    def _working_days_after(self, moment: dt.datetime, days: int) -> dt.datetime:
        """Office close on the working day `days` working days after `moment`'s local date."""
        local = moment.astimezone(CHINA_TZ).date()
        day = self._calendar.add_working_days(local, days)
        return self._calendar.end_of_working_day(day, CHINA_TZ).astimezone(dt.UTC)

    def _current_due(self, ticket: Ticket) -> dt.datetime | None:
        return current_due(ticket)

    def _view(self, ticket: Ticket, now: dt.datetime | None = None) -> TicketView:
        now = now or self._clock()
        due = self._current_due(ticket)
        return TicketView(
            number=ticket.number,
            category=category_label(ticket.category),
            status=self._lifecycle.state_label(ticket.status),
            organization=ticket.organization,
            district=ticket.district,
            created_at=ticket.created_at,
            status_code=ticket.status,
            department=ticket.department,
            deadline=due,
            overdue=due is not None and now > due,
            reply=ticket.reply,
            supervision=self._lifecycle.supervision.get(ticket.supervision, ticket.supervision),
            rating=ticket.rating,
        )

    @staticmethod
    def _by_idempotency_key(session: Session, key: str) -> FiledTicket | None:
        number = session.scalars(select(Ticket.number).where(Ticket.idempotency_key == key)).first()
        return FiledTicket(number=number, access_code=None, created=False) if number else None

    def _next_number(self, session: Session, now: dt.datetime) -> str:
        day = now.astimezone(CHINA_TZ).date()
        # The same SQL on SQLite (3.35+) and PostgreSQL; as text it is compiled once, where the
        # dialect-specific insert().on_conflict_do_update() was compiled anew for every ticket.
        sequence = session.execute(_NEXT_SEQUENCE, {"day": f"{day:%Y%m%d}"}).scalar_one()
        return numbering.format_ticket_id(day, sequence)


_NEXT_SEQUENCE = text(
    "INSERT INTO ticket_sequences (day, last_value) VALUES (:day, 1) "
    "ON CONFLICT (day) DO UPDATE SET last_value = ticket_sequences.last_value + 1 "
    "RETURNING last_value"
)
assert TicketSequence.__tablename__ == "ticket_sequences"


@functools.cache
def _dummy_hash(key: bytes) -> str:
    return numbering.hash_access_code("000000", key, salt=b"\0" * 16)


def waiting_step(status: str) -> str:
    """The step whose deadline a ticket in this state waits for (派单, 签收 or 答复)."""
    return {"received": "派单", "returned": "重新派单", "dispatched": "签收"}.get(status, "答复")


def _key(text: str | None) -> str:
    """Text compared for duplicates: normalised, without spaces and punctuation."""
    return "".join(ch for ch in normalize(text or "") if ch.isalnum())


def _money(value: Decimal | None) -> str:
    return "未提供" if value is None else f"{value:,.2f}元"


def _current_due_column() -> ColumnElement[dt.datetime]:
    """`current_due` as SQL, for the sweep to read only lapsed tickets."""
    return case(
        (Ticket.status.in_(("received", "returned")), Ticket.dispatch_due_at),
        (Ticket.status == "dispatched", Ticket.sign_due_at),
        (Ticket.status.in_(("signed", "in_progress")), Ticket.answer_due_at),
        else_=null(),
    )


def _lapsed(open_states: list[str], now: dt.datetime) -> ColumnElement[bool]:
    """Open tickets the sweep has something to do for at `now`: past their step's deadline and
    not urged for it yet, or urged and past the escalation date without 督办. The sweep checks
    each again in Python (`_sweep_one`); this only keeps the rest out of its transactions."""
    due = _current_due_column()
    return and_(
        Ticket.status.in_(open_states),
        due < now,
        or_(
            Ticket.escalate_due_at.is_(None),
            Ticket.escalate_due_at < due,
            and_(Ticket.escalate_due_at < now, Ticket.supervision == "none"),
        ),
    )


def current_due(ticket: Ticket) -> dt.datetime | None:
    """The deadline of the step the ticket waits for now (None once answered): one rule for the
    bot's status answers, the deadline sweep and the console."""
    if ticket.status in ("received", "returned"):
        return ticket.dispatch_due_at
    if ticket.status == "dispatched":
        return ticket.sign_due_at
    if ticket.status in ("signed", "in_progress"):
        return ticket.answer_due_at
    return None
