"""Console accounts: argon2 password hashes, roles, and throttled sign-in.

Failed sign-ins are counted per (account, address) and per address, in the ticket database so the
counts hold across web replicas. A name that sees `MAX_FAILURES` wrong passwords from one address
within `FAILURE_WINDOW` is locked for that address only: a stranger who types an operator's name
five times locks themselves out, not the operator at the office. An address with
`MAX_ADDRESS_FAILURES` failures (any names) is refused before any password is hashed, so a script
cannot make the console compute argon2 hashes without end. Unknown names are counted, locked and
hashed exactly like real ones: neither the answer nor its timing says who exists.

A sign-in runs in three steps so the hash can run on its own small thread pool (the web service's
other work never waits behind it): `begin_login` (the throttle, in the database) →
`check_password` (the hash, no database) → `finish_login` (the outcome recorded).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Index, Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bot.domain.addresses import address_block
from bot.domain.clock import utcnow
from bot.store.models import Base, ConsoleUser, UTCDateTime

ROLES = ("operator", "department", "supervisor", "admin")
MAX_FAILURES = 5  # per (account, address) within the window
# Per address, every name together: well above what an office behind one NAT mistypes.
MAX_ADDRESS_FAILURES = 30
FAILURE_WINDOW = dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
# Passwords the console makes up for a reset: no 0/O, 1/l/I to misread when it is read out.
_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
GENERATED_LENGTH = 14
LAST_ADMIN = "不能停用或改掉最后一位在用的系统管理员，否则再没有人能管理账号。"

_hasher = PasswordHasher()


@dataclass(frozen=True)
class Account:
    """What the console keeps of a signed-in user (never the hash)."""

    id: int
    username: str
    role: str
    department: str | None
    active: bool
    # The latest end of a lock of this name from some address (shown to admins).
    locked_until: dt.datetime | None = None


class AccountError(ValueError):
    """A refused account change, with a message an admin can read."""


class LoginFailure(Base):
    """One failed sign-in: the name and the address as SHA-256 digests (the name field sometimes
    holds a mistyped password, and the table need not hold addresses)."""

    __tablename__ = "console_login_failures"
    __table_args__ = (
        Index("ix_console_login_failures_pair", "account_key", "address_key", "at"),
        Index("ix_console_login_failures_address", "address_key", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_key: Mapped[str] = mapped_column(String(64))
    address_key: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


@dataclass(frozen=True)
class LoginAttempt:
    """A sign-in let through the throttle: what the hash step needs, and its failure row (written
    before the hash, so simultaneous attempts count each other)."""

    account_key: str
    address_key: str
    row_id: int
    user_id: int | None  # None: unknown or disabled, checked against the dummy hash alike
    password_hash: str


class LoginRefused(Exception):
    """Wrong name or password, or too many failures (`locked`); the same for every name."""

    def __init__(self, locked: bool) -> None:
        super().__init__("locked" if locked else "wrong credentials")
        self.locked = locked


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("not a password of anyone")


class Accounts:
    def __init__(
        self, session_factory: sessionmaker[Session], clock: Callable[[], dt.datetime] = utcnow
    ) -> None:
        self._sessions = session_factory
        self._clock = clock

    def add(
        self, username: str, password: str, role: str, department: str | None = None
    ) -> Account:
        username = username.strip()
        if not username or len(username) > 64:
            raise AccountError("用户名不能为空，最多 64 个字符")
        if role not in ROLES:
            raise AccountError(f"角色只能是：{'、'.join(ROLES)}")
        if role == "department" and not (department or "").strip():
            raise AccountError("承办单位人员必须绑定一个单位")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AccountError(f"密码至少 {MIN_PASSWORD_LENGTH} 位")
        with self._sessions.begin() as session:
            if session.scalars(select(ConsoleUser).where(ConsoleUser.username == username)).first():
                raise AccountError(f"用户名已存在：{username}")
            user = ConsoleUser(
                username=username,
                password_hash=_hasher.hash(password),
                role=role,
                department=(department or "").strip() or None if role == "department" else None,
                active=True,
                created_at=self._clock(),
            )
            session.add(user)
            session.flush()
            return _account(user)

    def authenticate(self, username: str, password: str, address: str = "") -> Account:
        """The three steps of a sign-in in this thread (the CLI); the web console runs the hash
        on its own pool."""
        attempt = self.begin_login(username, address)
        return self.finish_login(attempt, *check_password(attempt, password))

    def begin_login(self, username: str, address: str) -> LoginAttempt:
        """Record the attempt, then refuse it (LoginRefused(locked=True)) when its address or its
        (name, address) pair has reached its limit — before any hash is computed."""
        now = self._clock()
        since = now - FAILURE_WINDOW
        account_key = _digest("account", username.strip())
        address_key = _digest("address", address_block(address))
        with self._sessions.begin() as session:
            # The table holds the window only: every attempt clears what has left it.
            session.execute(delete(LoginFailure).where(LoginFailure.at < since))
            row = LoginFailure(account_key=account_key, address_key=address_key, at=now)
            session.add(row)
            session.flush()
            row_id = row.id
        with self._sessions() as session:
            others = LoginFailure.id != row_id, LoginFailure.at >= since
            from_address = session.scalar(
                select(func.count())
                .select_from(LoginFailure)
                .where(LoginFailure.address_key == address_key, *others)
            )
            pair = session.scalar(
                select(func.count())
                .select_from(LoginFailure)
                .where(
                    LoginFailure.account_key == account_key,
                    LoginFailure.address_key == address_key,
                    *others,
                )
            )
            user = session.scalars(
                select(ConsoleUser).where(ConsoleUser.username == username.strip())
            ).first()
            known = user is not None and user.active
            user_id = user.id if user is not None and known else None
            hashed = user.password_hash if user is not None and known else _dummy_hash()
        if (from_address or 0) >= MAX_ADDRESS_FAILURES or (pair or 0) >= MAX_FAILURES:
            self._forget([row_id])  # refused before guessing: not a failure
            raise LoginRefused(locked=True)
        return LoginAttempt(account_key, address_key, row_id, user_id, hashed)

    def finish_login(
        self, attempt: LoginAttempt, verified: bool, new_hash: str | None = None
    ) -> Account:
        """The account when the hash matched an active account's current hash: the pair's
        failures are cleared. Otherwise the attempt's row stays a failure and LoginRefused says
        whether this failure locked the pair."""
        now = self._clock()
        with self._sessions.begin() as session:
            user = session.get(ConsoleUser, attempt.user_id) if attempt.user_id else None
            if (
                verified
                and user is not None
                and user.active
                and user.password_hash == attempt.password_hash
            ):
                session.execute(
                    delete(LoginFailure).where(
                        LoginFailure.account_key == attempt.account_key,
                        LoginFailure.address_key == attempt.address_key,
                    )
                )
                if new_hash is not None:
                    user.password_hash = new_hash
                return _account(user)
            failures = session.scalar(
                select(func.count())
                .select_from(LoginFailure)
                .where(
                    LoginFailure.account_key == attempt.account_key,
                    LoginFailure.address_key == attempt.address_key,
                    LoginFailure.at >= now - FAILURE_WINDOW,
                )
            )
        raise LoginRefused(locked=(failures or 0) >= MAX_FAILURES)

    def _forget(self, ids: list[int]) -> None:
        with self._sessions.begin() as session:
            session.execute(delete(LoginFailure).where(LoginFailure.id.in_(ids)))

    def _locks(self, session: Session) -> dict[str, dt.datetime]:
        """account key → when its latest (name, address) lock ends, for the names locked now."""
        since = self._clock() - FAILURE_WINDOW
        rows = session.execute(
            select(LoginFailure.account_key, LoginFailure.address_key, LoginFailure.at)
            .where(LoginFailure.at >= since)
            .order_by(LoginFailure.at)
        ).all()
        pairs: dict[tuple[str, str], list[dt.datetime]] = {}
        for account_key, address_key, at in rows:
            pairs.setdefault((account_key, address_key), []).append(at)
        locks: dict[str, dt.datetime] = {}
        for (account_key, _), times in pairs.items():
            if len(times) >= MAX_FAILURES:
                # Free again once the MAX_FAILURES-th newest failure has left the window.
                until = times[len(times) - MAX_FAILURES] + FAILURE_WINDOW
                locks[account_key] = max(until, locks.get(account_key, until))
        return locks

    def get(self, user_id: int) -> Account | None:
        with self._sessions() as session:
            user = session.get(ConsoleUser, user_id)
            return _account(user) if user else None

    def all(self) -> list[Account]:
        """Every account, with the end of its latest sign-in lock (from any address)."""
        with self._sessions() as session:
            users = session.scalars(select(ConsoleUser).order_by(ConsoleUser.username)).all()
            locks = self._locks(session)
            return [_account(u, locks.get(_digest("account", u.username))) for u in users]

    def unlock(self, user_id: int) -> Account:
        """An admin lifts the account's sign-in locks, from every address."""
        with self._sessions.begin() as session:
            user = self._user(session, user_id)
            session.execute(
                delete(LoginFailure).where(
                    LoginFailure.account_key == _digest("account", user.username)
                )
            )
            return _account(user)

    def set_active(self, user_id: int, active: bool) -> Account:
        with self._sessions.begin() as session:
            user = self._user(session, user_id)
            if not active:
                self._keep_an_admin(session, user)
            user.active = active
            return _account(user)

    def set_role(self, user_id: int, role: str, department: str | None) -> Account:
        """A new role (and the department a department handler works for)."""
        if role not in ROLES:
            raise AccountError(f"角色只能是：{'、'.join(ROLES)}")
        department = (department or "").strip() or None
        if role == "department" and department is None:
            raise AccountError("承办单位人员必须绑定一个单位")
        with self._sessions.begin() as session:
            user = self._user(session, user_id)
            if role != "admin":
                self._keep_an_admin(session, user)
            user.role = role
            user.department = department if role == "department" else None
            return _account(user)

    def set_password(self, user_id: int, password: str) -> Account:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AccountError(f"密码至少 {MIN_PASSWORD_LENGTH} 位")
        with self._sessions.begin() as session:
            user = self._user(session, user_id)
            user.password_hash = _hasher.hash(password)
            return _account(user)

    @staticmethod
    def _keep_an_admin(session: Session, user: ConsoleUser) -> None:
        """Refuse to take away the last active admin. The admins' rows are locked first
        (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers), so two admins
        demoting each other at the same moment cannot both succeed."""
        if user.role != "admin" or not user.active:
            return
        session.scalars(
            select(ConsoleUser.id).where(ConsoleUser.role == "admin").with_for_update()
        ).all()
        others = session.scalar(
            select(func.count())
            .select_from(ConsoleUser)
            .where(
                ConsoleUser.role == "admin",
                ConsoleUser.active.is_(True),
                ConsoleUser.id != user.id,
            )
        )
        if not others:
            raise AccountError(LAST_ADMIN)

    def _user(self, session: Session, user_id: int) -> ConsoleUser:
        user = session.get(ConsoleUser, user_id)
        if user is None:
            raise AccountError("没有这个用户")
        return user


def generate_password() -> str:
    """A reset password the admin reads out once (~80 bits)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(GENERATED_LENGTH))


def check_password(attempt: LoginAttempt, password: str) -> tuple[bool, str | None]:
    """The argon2 work of a sign-in: whether the password matches, and a fresh hash when the
    stored one was made with older parameters. No database: it runs on the console's own pool."""
    if not _verify(attempt.password_hash, password):
        return False, None
    if attempt.user_id is not None and _hasher.check_needs_rehash(attempt.password_hash):
        return True, _hasher.hash(password)
    return True, None


def _digest(scope: str, value: str) -> str:
    return hashlib.sha256(f"{scope}:{value}".encode()).hexdigest()


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _account(user: ConsoleUser, locked_until: dt.datetime | None = None) -> Account:
    return Account(
        id=user.id,
        username=user.username,
        role=user.role,
        department=user.department,
        active=user.active,
        locked_until=locked_until,
    )
