"""Console accounts: argon2 password hashes, roles, and lock-out after repeated failures.

Lock-out is per user, not per address: a guessed password is refused for every source once the
account has seen `MAX_FAILURES` wrong ones within `FAILURE_WINDOW`, until `LOCK_TIME` has passed or
an admin unlocks it. Unknown users cost the same hash work, so timing does not say who exists.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.tickets.models import ConsoleUser

ROLES = ("operator", "department", "supervisor", "admin")
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)
LOCK_TIME = dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
# Passwords the console makes up for a reset: no 0/O, 1/l/I to misread when it is read out.
_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
GENERATED_LENGTH = 14
LAST_ADMIN = "不能停用或改掉最后一位在用的系统管理员，否则再没有人能管理账号。"

_hasher = PasswordHasher()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Account:
    """What the console keeps of a signed-in user (never the hash)."""

    id: int
    username: str
    role: str
    department: str | None
    active: bool
    locked_until: dt.datetime | None = None


class AccountError(ValueError):
    """A refused account change, with a message an admin can read."""


class LoginRefused(Exception):
    """Wrong name or password, or a locked account; `locked` says which (for the message)."""

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
                failed_count=0,
                created_at=self._clock(),
            )
            session.add(user)
            session.flush()
            return _account(user)

    def authenticate(self, username: str, password: str) -> Account:
        """The account if the password is right and the account neither locked nor disabled.

        A failure is committed before it is raised: the count must survive the refusal."""
        now = self._clock()
        refused: LoginRefused | None = None
        with self._sessions.begin() as session:
            user = session.scalars(
                select(ConsoleUser)
                .where(ConsoleUser.username == username.strip())
                .with_for_update()
            ).first()
            if user is None or not user.active:
                _verify(_dummy_hash(), password)
                refused = LoginRefused(locked=False)
            elif user.locked_until is not None and user.locked_until > now:
                _verify(_dummy_hash(), password)
                refused = LoginRefused(locked=True)
            elif not _verify(user.password_hash, password):
                self._count_failure(user, now)
                refused = LoginRefused(locked=user.locked_until is not None)
            else:
                user.failed_count = 0
                user.failed_since = None
                user.locked_until = None
                if _hasher.check_needs_rehash(user.password_hash):
                    user.password_hash = _hasher.hash(password)
                account = _account(user)
        if refused is not None:
            raise refused
        return account

    def get(self, user_id: int) -> Account | None:
        with self._sessions() as session:
            user = session.get(ConsoleUser, user_id)
            return _account(user) if user else None

    def all(self) -> list[Account]:
        with self._sessions() as session:
            users = session.scalars(select(ConsoleUser).order_by(ConsoleUser.username)).all()
            return [_account(u) for u in users]

    def unlock(self, user_id: int) -> Account:
        with self._sessions.begin() as session:
            user = self._user(session, user_id)
            user.failed_count = 0
            user.failed_since = None
            user.locked_until = None
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

    def _count_failure(self, user: ConsoleUser, now: dt.datetime) -> None:
        if user.failed_since is None or now - user.failed_since > FAILURE_WINDOW:
            user.failed_since = now
            user.failed_count = 0
        user.failed_count += 1
        if user.failed_count >= MAX_FAILURES:
            user.locked_until = now + LOCK_TIME
            user.failed_count = 0
            user.failed_since = None


def generate_password() -> str:
    """A reset password the admin reads out once (~80 bits)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(GENERATED_LENGTH))


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _account(user: ConsoleUser) -> Account:
    return Account(
        id=user.id,
        username=user.username,
        role=user.role,
        department=user.department,
        active=user.active,
        locked_until=user.locked_until,
    )
