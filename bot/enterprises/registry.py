"""Registered enterprises: profiles, API tokens, Idempotency-Key claims, one-time chat links.

Tickets themselves are still written only by bot/tickets/service.py; this module keeps who the
enterprise is and which of its requests were already seen.

Why HMAC-SHA256 and not argon2 for the API token: the token is 256 random bits made by us, not
a password a person chose, so there is nothing to guess or to look up in a dictionary and a slow
hash buys no safety — it would only cost ~50 ms of CPU on every API call. A keyed hash (the key
lives outside the database) also means a stolen database alone cannot even check a guessed
token. Lookups are by the hash itself (unique index), so verification is one indexed query.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.clock import utcnow
from bot.domain.identifiers import is_valid_uscc
from bot.domain.privacy import mask_uscc
from bot.domain.text import normalize
from bot.domain.validators import clean_free_text, find_phone
from bot.store.models import Enterprise, EnterpriseChatLink, EnterpriseReport, UTCDateTime

TOKEN_PREFIX = "ent_"
CHAT_LINK_VALIDITY = dt.timedelta(minutes=10)
MAX_REASON = 200
MAX_IDEMPOTENCY_KEY = 120  # the ticket's own idempotency column holds prefix + key in 200


class InvalidField(ValueError):
    """A value refused by its validator; `code` picks the Chinese message (enterprise_texts)."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


PENDING, VERIFIED, REFUSED = "pending", "verified", "refused"
VERIFICATION_LABELS = {PENDING: "待核实", VERIFIED: "已核实", REFUSED: "未通过核实"}


class AlreadyVerified(Exception):
    """Another account is the verified one for this 统一社会信用代码 (refuse it first)."""

    def __init__(self, other: EnterpriseProfile) -> None:
        super().__init__(other.id)
        self.other = other


@dataclass(frozen=True)
class EnterpriseProfile:
    id: int
    name: str
    uscc: str
    contact_name: str
    phone: str
    token_issued_at: dt.datetime
    suspended_at: dt.datetime | None = None
    suspended_reason: str | None = None
    sender_key: str = ""
    verification: str = PENDING
    decided_at: dt.datetime | None = None
    decided_by: str | None = None
    decision_reason: str | None = None
    created_at: dt.datetime | None = None  # when the claim was made (the 企业核实 queue's order)

    @property
    def suspended(self) -> bool:
        """Stopped by an admin: its token and pages answer 403 (nothing new is filed)."""
        return self.suspended_at is not None

    @property
    def verified(self) -> bool:
        """An operator checked that the account is the company's: its reports are the company's."""
        return self.verification == VERIFIED

    @property
    def refused(self) -> bool:
        """An operator found the claim false: nothing new is filed (its tickets stay readable)."""
        return self.verification == REFUSED

    @property
    def verification_label(self) -> str:
        return VERIFICATION_LABELS.get(self.verification, self.verification)

    def suspension_note(self) -> str:
        """What the audit log says of a suspension or reinstatement (the code masked)."""
        note = f"{self.name}（{mask_uscc(self.uscc)}）"
        return f"{note}：{self.suspended_reason}" if self.suspended else note

    def decision_note(self) -> str:
        """What the audit log says of a verification or refusal (the code masked)."""
        return f"{self.name}（{mask_uscc(self.uscc)}）{self.verification_label}：{self.decision_reason}"

    @property
    def sender_id(self) -> str:
        """The ticket's sender id for this account's reports: how its own tickets are found.
        Random per account, so neither the account's number nor the company's code gives it."""
        return f"enterprise:{self.sender_key}"


@dataclass(frozen=True)
class PendingClaim:
    """A pending account, with what an operator checking it should know about its code."""

    profile: EnterpriseProfile
    other_claims: int  # other pending or refused accounts claiming the same code
    verified: EnterpriseProfile | None  # the account already verified for the code, if any


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before by this enterprise for a different body."""


@dataclass(frozen=True)
class KeyClaim:
    """An Idempotency-Key of one enterprise, claimed inside the filing's own transaction.

    `ticket_key` goes to TicketService.file as the ticket's idempotency key; the claim itself
    (`__call__`, TicketService.file's `claim`) records (enterprise, key, body hash) in the same
    transaction that writes the ticket, or raises IdempotencyConflict for a reused key with
    another body. A retry of the same body then finds the first ticket by `ticket_key`."""

    enterprise_id: int
    key: str
    request_hash: str
    at: dt.datetime

    @property
    def ticket_key(self) -> str:
        return f"enterprise:{self.enterprise_id}:{self.key}"

    def __call__(self, session: Session) -> bool:
        """True when the key is recorded now (first use); False for a retry of the same body.

        One statement in the usual case (the key is new): an insert that does nothing on a
        known key. A concurrent retry on PostgreSQL waits on the unique index until the first
        commits, then finds its row."""
        recorded = session.execute(
            _CLAIM,
            {
                "enterprise_id": self.enterprise_id,
                "key": self.key,
                "hash": self.request_hash,
                "at": self.at,
            },
        ).first()
        if recorded is not None:
            return True
        stored = session.scalars(
            select(EnterpriseReport.request_hash).where(
                EnterpriseReport.enterprise_id == self.enterprise_id,
                EnterpriseReport.idempotency_key == self.key,
            )
        ).first()
        if stored != self.request_hash:
            raise IdempotencyConflict(self.key)
        return False


# The same SQL on SQLite (3.35+) and PostgreSQL, compiled once (as the ticket numbers' upsert).
_CLAIM = text(
    "INSERT INTO enterprise_reports (enterprise_id, idempotency_key, request_hash, created_at) "
    "VALUES (:enterprise_id, :key, :hash, :at) "
    "ON CONFLICT (enterprise_id, idempotency_key) DO NOTHING RETURNING id"
).bindparams(bindparam("at", type_=UTCDateTime()))
assert EnterpriseReport.__tablename__ == "enterprise_reports"


# -- validators (every path — API, web form, CLI — goes through these) --------------------------

_NAME_CHARS = re.compile(r"^[\u4e00-\u9fffA-Za-z0-9（）()·&\-. ]+$")


def valid_enterprise_name(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidField("name", "wrong_type")
    name = clean_free_text(normalize(value), 200)
    if not name:
        raise InvalidField("name", "required")
    if len(name) < 4 or not _NAME_CHARS.match(name) or not re.search(r"[\u4e00-\u9fff]", name):
        raise InvalidField("name", "name_invalid")
    return name


def valid_uscc(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidField("uscc", "wrong_type")
    code = normalize(value).strip().upper().replace(" ", "")
    if not code:
        raise InvalidField("uscc", "required")
    if not is_valid_uscc(code):
        raise InvalidField("uscc", "uscc_invalid")
    return code


def valid_contact_name(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidField("contact_name", "wrong_type")
    name = clean_free_text(normalize(value), 50)
    if not name:
        raise InvalidField("contact_name", "required")
    if not re.fullmatch(r"[\u4e00-\u9fffA-Za-z·. ]{2,50}", name):
        raise InvalidField("contact_name", "contact_invalid")
    return name


def valid_phone(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidField("phone", "wrong_type")
    text = normalize(value).strip()
    if not text:
        raise InvalidField("phone", "required")
    phone = find_phone(text)
    # The whole value must be the number (spaces, dashes, +86, brackets allowed), nothing else.
    if phone is None or re.sub(r"[\d\s\-+()]", "", text):
        raise InvalidField("phone", "phone_invalid")
    return phone


class EnterpriseRegistry:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        key: bytes,
        clock: Callable[[], dt.datetime] = utcnow,
        *,
        read_sessions: sessionmaker[Session] | None = None,
    ) -> None:
        self._sessions = session_factory
        # Plain reads (token lookups) may use a factory that does not take SQLite's write lock.
        self._reads = read_sessions or session_factory
        self._key = key
        self._clock = clock

    def token_hash(self, token: str) -> str:
        return hmac.new(self._key, token.encode("utf-8"), hashlib.sha256).hexdigest()

    def register(
        self, *, name: object, uscc: object, contact_name: object, phone: object
    ) -> tuple[EnterpriseProfile, str]:
        """Validate and store a new account, pending verification; returns its profile and the
        token (shown once). Raises InvalidField for the first bad value.

        A code that is already registered, even verified, makes one more pending claim and the
        same answer: a squatter cannot lock the company out, and nobody learns from registering
        whether a code is known. The operator who checks the claims decides (`verify`)."""
        values = registration_values(name=name, uscc=uscc, contact_name=contact_name, phone=phone)
        token = _new_token()
        now = self._clock()
        with self._sessions.begin() as session:
            enterprise = Enterprise(
                **values,
                token_hash=self.token_hash(token),
                token_issued_at=now,
                created_at=now,
                sender_key=new_sender_key(),
                verification=PENDING,
            )
            session.add(enterprise)
            session.flush()
            profile = _profile(enterprise)
        return profile, token

    # -- verification (an operator's decision; audited by the console, logged by the CLI) -------

    def verify(self, enterprise_id: int, reason: object, *, by: str) -> EnterpriseProfile | None:
        """The account is the company's (the operator checked it, `reason` says how); None if
        unknown. Raises AlreadyVerified when another account holds the code verified."""
        text = _reason(reason)
        uscc = ""
        try:
            with self._sessions.begin() as session:
                enterprise = session.get(Enterprise, enterprise_id)
                if enterprise is None:
                    return None
                uscc = enterprise.uscc
                holder = session.scalars(
                    select(Enterprise).where(
                        Enterprise.uscc == uscc,
                        Enterprise.verification == VERIFIED,
                        Enterprise.id != enterprise_id,
                    )
                ).first()
                if holder is not None:
                    raise AlreadyVerified(_profile(holder))
                self._decide(enterprise, VERIFIED, text, by)
                session.flush()
                return _profile(enterprise)
        except IntegrityError:
            # Another claim to the code was verified at the same moment (the unique index).
            raise AlreadyVerified(self._verified_for(uscc)) from None

    def refuse(self, enterprise_id: int, reason: object, *, by: str) -> EnterpriseProfile | None:
        """The claim is not the company's (or no longer): its token files nothing new, its
        tickets stay readable; the contact reads `reason` on its page. None if unknown."""
        text = _reason(reason)
        with self._sessions.begin() as session:
            enterprise = session.get(Enterprise, enterprise_id)
            if enterprise is None:
                return None
            self._decide(enterprise, REFUSED, text, by)
            return _profile(enterprise)

    def _decide(self, enterprise: Enterprise, state: str, reason: str, by: str) -> None:
        enterprise.verification = state
        enterprise.decision_reason = reason
        enterprise.decided_by = by[:64]
        enterprise.decided_at = self._clock()

    def _verified_for(self, uscc: str) -> EnterpriseProfile:
        with self._sessions() as session:
            holder = session.scalars(
                select(Enterprise).where(
                    Enterprise.uscc == uscc, Enterprise.verification == VERIFIED
                )
            ).one()
            return _profile(holder)

    def pending(self, *, limit: int = 100) -> list[PendingClaim]:
        """The accounts waiting for an operator, oldest first (they have waited longest)."""
        with self._reads() as session:
            waiting = session.scalars(
                select(Enterprise)
                .where(Enterprise.verification == PENDING)
                .order_by(Enterprise.id)
                .limit(limit)
            ).all()
            codes = {e.uscc for e in waiting}
            claims: dict[str, list[Enterprise]] = {}
            if codes:
                for other in session.scalars(select(Enterprise).where(Enterprise.uscc.in_(codes))):
                    claims.setdefault(other.uscc, []).append(other)
            found = []
            for enterprise in waiting:
                same = claims.get(enterprise.uscc, [])
                holder = next((e for e in same if e.verification == VERIFIED), None)
                others = sum(1 for e in same if e.id != enterprise.id and e is not holder)
                found.append(
                    PendingClaim(_profile(enterprise), others, _profile(holder) if holder else None)
                )
            return found

    def rotate(self, enterprise_id: int) -> str:
        """A new token; the old one stops working with this commit."""
        token = _new_token()
        with self._sessions.begin() as session:
            session.execute(
                update(Enterprise)
                .where(Enterprise.id == enterprise_id)
                .values(token_hash=self.token_hash(token), token_issued_at=self._clock())
            )
        return token

    def profile_for_token(self, token: str) -> EnterpriseProfile | None:
        if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
            return None
        with self._reads() as session:
            enterprise = session.scalars(
                select(Enterprise).where(Enterprise.token_hash == self.token_hash(token))
            ).first()
            return _profile(enterprise) if enterprise else None

    def profile(self, enterprise_id: int) -> EnterpriseProfile | None:
        with self._reads() as session:
            enterprise = session.get(Enterprise, enterprise_id)
            return _profile(enterprise) if enterprise else None

    # -- suspension (an admin's decision; audited by the console, logged by the CLI) ------------

    def suspend(self, enterprise_id: int, reason: object) -> EnterpriseProfile | None:
        """Stop the enterprise's token, pages and chat links until `reinstate`; None if unknown.
        The reason is required (the enterprise is told it, in the API's 403 and on its pages)."""
        return self._set_suspension(enterprise_id, self._clock(), _reason(reason))

    def reinstate(self, enterprise_id: int) -> EnterpriseProfile | None:
        return self._set_suspension(enterprise_id, None, None)

    def _set_suspension(
        self, enterprise_id: int, at: dt.datetime | None, reason: str | None
    ) -> EnterpriseProfile | None:
        with self._sessions.begin() as session:
            enterprise = session.get(Enterprise, enterprise_id)
            if enterprise is None:
                return None
            enterprise.suspended_at = at
            enterprise.suspended_reason = reason
            return _profile(enterprise)

    def by_uscc(self, uscc: str) -> EnterpriseProfile | None:
        """The account for a code: the verified one, else the newest claim."""
        with self._reads() as session:
            found = session.scalars(
                select(Enterprise)
                .where(Enterprise.uscc == normalize(uscc).strip().upper())
                .order_by((Enterprise.verification == VERIFIED).desc(), Enterprise.id.desc())
            ).first()
            return _profile(found) if found else None

    def search(self, query: str = "", *, limit: int = 100) -> list[EnterpriseProfile]:
        """Newest first; `query` matches part of the name or the start of the USCC."""
        statement = select(Enterprise).order_by(Enterprise.id.desc()).limit(limit)
        wanted = normalize(query).strip()[:60]
        if wanted:
            escaped = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            statement = statement.where(
                Enterprise.name.like(f"%{escaped}%", escape="\\")
                | Enterprise.uscc.like(f"{escaped.upper()}%", escape="\\")
            )
        with self._reads() as session:
            return [_profile(e) for e in session.scalars(statement)]

    # -- one-time chat links (for the dialogue: an enterprise continues in the chat) -------------

    def issue_chat_link(self, enterprise_id: int) -> str:
        """A code valid for 10 minutes and one redemption; only its SHA-256 is stored (it is
        128 random bits, so a plain hash is enough)."""
        code = secrets.token_urlsafe(16)
        with self._sessions.begin() as session:
            session.add(
                EnterpriseChatLink(
                    code_hash=_sha256(code),
                    enterprise_id=enterprise_id,
                    expires_at=self._clock() + CHAT_LINK_VALIDITY,
                )
            )
        return code

    def chat_link_profile(self, code: str) -> EnterpriseProfile | None:
        """The enterprise behind an unused, unexpired code, without using it up: the page that
        asks to confirm (a GET, which a proxy may repeat) reads it; only the POST redeems."""
        with self._reads() as session:
            link = session.get(EnterpriseChatLink, _sha256(code))
            if link is None or link.used_at is not None or link.expires_at <= self._clock():
                return None
            enterprise = session.get(Enterprise, link.enterprise_id)
            return _profile(enterprise) if enterprise else None

    def redeem_chat_link(self, code: str) -> EnterpriseProfile | None:
        """The enterprise behind an unused, unexpired code, marking it used in the same UPDATE
        (so two redemptions racing each other cannot both succeed)."""
        now = self._clock()
        with self._sessions.begin() as session:
            claimed = session.execute(
                update(EnterpriseChatLink)
                .where(
                    EnterpriseChatLink.code_hash == _sha256(code),
                    EnterpriseChatLink.used_at.is_(None),
                    EnterpriseChatLink.expires_at > now,
                )
                .values(used_at=now)
                .returning(EnterpriseChatLink.enterprise_id)
            ).first()
            if claimed is None:
                return None
            enterprise = session.get(Enterprise, claimed[0])
            return _profile(enterprise) if enterprise else None

    # -- Idempotency-Key ---------------------------------------------------------------------------

    def claim(self, enterprise_id: int, key: str, request_hash: str) -> KeyClaim:
        """The claim of (enterprise, key) for this body, to run inside the filing (see KeyClaim);
        the unique constraint decides between concurrent retries on PostgreSQL."""
        return KeyClaim(enterprise_id, key, request_hash, self._clock())


def registration_values(
    *, name: object, uscc: object, contact_name: object, phone: object
) -> dict[str, str]:
    """A registration's values, each through its validator (InvalidField for the first bad)."""
    return {
        "name": valid_enterprise_name(name),
        "uscc": valid_uscc(uscc),
        "contact_name": valid_contact_name(contact_name),
        "phone": valid_phone(phone),
    }


def new_sender_key() -> str:
    """128 random bits: the part of a report's sender id that nobody can guess."""
    return secrets.token_hex(16)


def _reason(reason: object) -> str:
    """An admin's or operator's reason, cleaned; required (the enterprise is told it)."""
    text = clean_free_text(reason, MAX_REASON) if isinstance(reason, str) else ""
    if not text:
        raise InvalidField("reason", "required")
    return text


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _profile(enterprise: Enterprise) -> EnterpriseProfile:
    return EnterpriseProfile(
        id=enterprise.id,
        name=enterprise.name,
        uscc=enterprise.uscc,
        contact_name=enterprise.contact_name,
        phone=enterprise.phone,
        token_issued_at=enterprise.token_issued_at,
        suspended_at=enterprise.suspended_at,
        suspended_reason=enterprise.suspended_reason,
        sender_key=enterprise.sender_key,
        verification=enterprise.verification,
        decided_at=enterprise.decided_at,
        decided_by=enterprise.decided_by,
        decision_reason=enterprise.decision_reason,
        created_at=enterprise.created_at,
    )
