"""Server-side sessions for aiohttp-session, kept in the ticket database.

The cookie holds only a random 256-bit key (path /console/, the web service's cookie flags:
HttpOnly, SameSite=Lax, Secure over HTTPS and in production — bot/web/security.cookie_flags); the data — who is signed in, the CSRF token, a one-time notice — stays on the server,
so signing out or an admin disabling an account ends the session for good.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
from typing import Any

from aiohttp import web
from aiohttp_session import AbstractStorage, Session
from sqlalchemy import delete, select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from bot.domain.clock import utcnow
from bot.store.models import ConsoleSession
from bot.web.security import cookie_flags

COOKIE_NAME = "hotline_console"
MAX_AGE = 8 * 3600  # one working day


class DatabaseStorage(AbstractStorage):
    def __init__(self, sessions: sessionmaker[DbSession]) -> None:
        super().__init__(
            cookie_name=COOKIE_NAME,
            max_age=MAX_AGE,
            path="/console/",
            httponly=True,
            samesite="Lax",
        )
        self._db = sessions

    async def load_session(self, request: web.Request) -> Session:
        key = self.load_cookie(request)
        if not isinstance(key, str) or len(key) != 64:
            return Session(None, data=None, new=True, max_age=self.max_age)
        raw = await asyncio.to_thread(self._read, key)
        if raw is None:
            return Session(None, data=None, new=True, max_age=self.max_age)
        return Session(key, data=raw, new=False, max_age=self.max_age)  # type: ignore[arg-type]

    async def save_session(
        self, request: web.Request, response: web.StreamResponse, session: Session
    ) -> None:
        key = session.identity
        if session.empty:
            if key is not None:
                await asyncio.to_thread(self.forget, str(key))
            self._cookie(request, response, "", 0)
            return
        if key is None:
            key = secrets.token_hex(32)
        data: dict[str, Any] = dict(self._get_session_data(session))
        await asyncio.to_thread(self._write, str(key), data)
        self._cookie(request, response, str(key), MAX_AGE)

    def forget(self, key: str) -> None:
        """Remove a session for good (sign-out, a new sign-in replacing it)."""
        with self._db.begin() as db:
            db.execute(delete(ConsoleSession).where(ConsoleSession.key == key))

    def _cookie(
        self, request: web.Request, response: web.StreamResponse, key: str, age: int
    ) -> None:
        response.set_cookie(
            COOKIE_NAME, key, max_age=age, path="/console/", **cookie_flags(request)
        )

    def _read(self, key: str) -> dict[str, Any] | None:
        with self._db() as db:
            row = db.get(ConsoleSession, key)
            if row is None or row.expires_at < utcnow():
                return None
            try:
                data = json.loads(row.data)
            except ValueError:
                return None
            return data if isinstance(data, dict) else None

    def forget_user(self, user_id: int) -> int:
        """End every session of one account (its password was reset); returns how many.

        The data is JSON text, so the rows are read and matched here — the table holds only
        living console sessions, a few dozen."""
        with self._db.begin() as db:
            keys = [
                row.key
                for row in db.scalars(select(ConsoleSession))
                if _user_of(row.data) == user_id
            ]
            if keys:
                db.execute(delete(ConsoleSession).where(ConsoleSession.key.in_(keys)))
            return len(keys)

    def _write(self, key: str, data: dict[str, Any]) -> None:
        now = utcnow()
        with self._db.begin() as db:
            row = db.get(ConsoleSession, key)
            if row is None:
                row = ConsoleSession(key=key, data="{}", expires_at=now)
                db.add(row)
            row.data = json.dumps(data, ensure_ascii=False)
            row.expires_at = now + dt.timedelta(seconds=MAX_AGE)
            # Expired sessions are cleared by the writes of the living ones.
            db.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))


def _user_of(raw: str) -> int | None:
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    user_id = data.get("session", {}).get("user_id") if isinstance(data, dict) else None
    return user_id if isinstance(user_id, int) else None


# aiohttp-session's own middleware keeps its objects under plain string request keys, which
# aiohttp 3.14 warns about (and the test suite runs with warnings as errors); these are the same
# three functions with typed keys, around the same Session and AbstractStorage.
_STORAGE = web.RequestKey("console_session_storage", DatabaseStorage)
_SESSION = web.RequestKey("console_session", Session)


async def get_session(request: web.Request) -> Session:
    session = request.get(_SESSION)
    if session is None:
        session = await request[_STORAGE].load_session(request)
        request[_SESSION] = session
    return session


async def new_session(request: web.Request) -> Session:
    session = await request[_STORAGE].new_session()
    request[_SESSION] = session
    return session


def session_middleware(storage: DatabaseStorage):  # type: ignore[no-untyped-def]
    @web.middleware
    async def middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
        request[_STORAGE] = storage
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            await _save(request, exc, storage)
            raise
        if isinstance(response, web.Response) and not response.prepared:
            await _save(request, response, storage)
        return response

    return middleware


async def _save(
    request: web.Request, response: web.StreamResponse, storage: DatabaseStorage
) -> None:
    session = request.get(_SESSION)
    if session is not None and session._changed:
        await storage.save_session(request, response, session)
