"""The enterprise API (/api/v1/enterprise/...): register, rotate the token, one-click reports.

Registration is a claim, pending until an operator verifies it (bot/enterprises/registry.py): it
is answered 202 whether or not the code is already registered, and limited per client address
and in all (`data/hotline/limits.yml` enterprise_registration) so nobody can mint accounts, each
with its own rate limit. A pending account files, as an ordinary 企业 ticket under its own sender
id, never listed with the verified company's reports.

Database work runs on the API's own threads (EnterpriseContext.db) so a filing never blocks the
event loop that also serves the chat.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from aiohttp import web
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.categories import category_label
from bot.domain.lifecycle import lifecycle
from bot.domain.privacy import mask_uscc
from bot.domain.tickets import TICKET_ID_PATTERN
from bot.domain.workdays import WorkCalendar, load_calendar
from bot.enterprises import reads
from bot.enterprises.registry import (
    MAX_IDEMPOTENCY_KEY,
    EnterpriseProfile,
    EnterpriseRegistry,
    IdempotencyConflict,
    InvalidField,
    registration_values,
)
from bot.enterprises.texts import REGISTRATION_PENDING
from bot.privacy.keys import load_or_create_key
from bot.store.db import make_engine, make_read_engine, make_session_factory
from bot.tickets.service import FiledTicket, TicketService
from bot.web import enterprise_intake as intake
from bot.web.enterprise_errors import (
    ApiError,
    RegistrationLimits,
    enterprise_limiter,
    logger,
    registration_limits,
)
from bot.web.keys import GATEWAY, SETTINGS
from bot.web.params import whole_number
from bot.web.rate_limit import RateLimiter
from bot.web.security import client_ip

T = TypeVar("T")
OPENAPI_FILE = Path(__file__).resolve().parent / "enterprise_openapi.yaml"
MAX_PAGE = 100


# Threads for the enterprise API's database calls. A burst of reports is CPU work under one GIL
# (and, on SQLite, one writer at a time): with asyncio's default pool (6 threads here) the
# threads mostly hand the GIL and the writer lock to each other. Two threads measured 2.9–3.0 ms
# of web-service CPU per report against 3.4–3.5 ms, and p95 162–175 ms against 184–191 ms for 50
# at once (docs/bench.md). The API's own pool, so a slow call elsewhere (WeChat's API) does not
# hold it up, nor it them.
DB_THREADS = 2


@dataclass(frozen=True)
class EnterpriseContext:
    registry: EnterpriseRegistry
    tickets: TicketService
    limiter: RateLimiter
    registrations: RegistrationLimits
    calendar: WorkCalendar
    key: bytes
    sessions: sessionmaker[Session]
    threads: ThreadPoolExecutor

    def read(self) -> sessionmaker[Session]:
        return self.sessions

    async def db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A blocking database call on the API's threads (DB_THREADS), off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(
            self.threads, functools.partial(fn, *args, **kwargs)
        )


CONTEXT = web.AppKey("enterprise_context", EnterpriseContext)


async def _context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    read_engine = make_read_engine(settings.database_url) or engine
    reads_factory = make_session_factory(read_engine)
    key = load_or_create_key(settings.var_dir, settings.enterprise_key)
    threads = ThreadPoolExecutor(max_workers=DB_THREADS, thread_name_prefix="enterprise-db")
    app[CONTEXT] = EnterpriseContext(
        registry=EnterpriseRegistry(sessions, key, read_sessions=reads_factory),
        tickets=TicketService(sessions),
        limiter=enterprise_limiter(settings),
        registrations=registration_limits(settings),
        calendar=load_calendar(),
        key=key,
        sessions=reads_factory,
        threads=threads,
    )
    yield
    threads.shutdown(wait=True)
    engine.dispose()
    read_engine.dispose()


def setup_enterprise_api(app: web.Application) -> None:
    app.cleanup_ctx.append(_context)
    app.router.add_post("/api/v1/enterprise/register", register)
    app.router.add_post("/api/v1/enterprise/token", rotate_token)
    app.router.add_get("/api/v1/enterprise/account", account)
    app.router.add_post("/api/v1/enterprise/reports", file_report)
    app.router.add_get("/api/v1/enterprise/reports", list_reports)
    app.router.add_get("/api/v1/enterprise/reports/{number}", get_report)
    app.router.add_get("/api/v1/openapi.json", openapi_json)


# -- helpers -----------------------------------------------------------------------------------


async def read_json(request: web.Request) -> tuple[object, bytes]:
    """The body parsed, and its bytes (for the idempotency hash). 413 above 64 KB (aiohttp);
    415 unless declared JSON (a browser can send text/plain across sites without asking)."""
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type")
    raw = await request.read()
    try:
        return json.loads(raw.decode("utf-8")), raw
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "malformed_json") from None


async def authenticate(request: web.Request) -> EnterpriseProfile:
    """The enterprise behind the Bearer token (401 otherwise), counted against its rate limit."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized")
    context = request.app[CONTEXT]
    profile = await context.db(context.registry.profile_for_token, token.strip())
    if profile is None:
        raise ApiError(401, "unauthorized")
    wait = context.limiter.take(profile.id)
    if wait is not None:
        raise ApiError(429, "rate_limited", retry_after=wait)
    return profile


def _iso(moment: dt.datetime | None) -> str | None:
    """UTC, as stored: a deadline computed in China time reads the same in a filing's answer as
    in a later look-up."""
    return moment.astimezone(dt.UTC).isoformat() if moment else None


def profile_json(profile: EnterpriseProfile) -> dict[str, Any]:
    return {
        "id": profile.id,
        "name": profile.name,
        "uscc": profile.uscc,
        "contact_name": profile.contact_name,
        "phone": profile.phone,
        "verification": {
            "status": profile.verification,
            "label": profile.verification_label,
            # Why a claim was refused is the contact's to read; how a verification was checked
            # is the operator's note.
            "reason": profile.decision_reason if profile.refused else None,
            "decided_at": _iso(profile.decided_at),
        },
        "suspended": profile.suspended,
    }


def detail_json(detail: reads.ReportDetail, *, history: bool) -> dict[str, Any]:
    states = lifecycle()
    body: dict[str, Any] = {
        "number": detail.number,
        "category": {"code": detail.category, "label": category_label(detail.category)},
        "status": {"code": detail.status, "label": states.state_label(detail.status)},
        "department": detail.department,
        "respondent": detail.organization,
        "district": detail.district or None,
        "created_at": _iso(detail.created_at),
        "deadlines": {
            "dispatch": _iso(detail.dispatch_due_at),
            "sign": _iso(detail.sign_due_at),
            "answer": _iso(detail.answer_due_at),
        },
        "reply": detail.reply,
    }
    if history:
        body["history"] = [
            {"at": _iso(e.at), "action": e.action, "status": e.to_status, "note": e.note}
            for e in detail.history
        ]
    return body


# -- handlers ----------------------------------------------------------------------------------


async def register(request: web.Request) -> web.Response:
    body, _ = await read_json(request)
    if not isinstance(body, dict):
        raise ApiError(400, "not_an_object")
    for key in body:
        if key not in ("name", "uscc", "contact_name", "phone"):
            raise ApiError(422, "unknown_field", str(key)[:40])
    profile, token = await register_enterprise(request, body)
    return web.json_response(
        {
            "status": "pending",
            "message": REGISTRATION_PENDING,
            "enterprise": profile_json(profile),
            "token": token,
        },
        status=202,
    )


async def register_enterprise(
    request: web.Request, values: dict[str, Any]
) -> tuple[EnterpriseProfile, str]:
    """Shared by the API and the registration page: ApiError 422/429 on refusal. The same
    answer for a code never seen and one already registered: each is a new pending claim."""
    context = request.app[CONTEXT]
    try:
        checked = registration_values(
            name=values.get("name"),
            uscc=values.get("uscc"),
            contact_name=values.get("contact_name"),
            phone=values.get("phone"),
        )
    except InvalidField as exc:
        raise ApiError(422, exc.code, exc.field) from None
    # Counted once the values are valid: a typo costs nobody a registration of the hour.
    wait = context.registrations.take(client_ip(request))
    if wait is not None:
        raise ApiError(429, "registration_limited", retry_after=wait)
    profile, token = await context.db(lambda: context.registry.register(**checked))
    logger.info("enterprise registered: id=%s uscc=%s", profile.id, mask_uscc(profile.uscc))
    return profile, token


def refuse_if_suspended(profile: EnterpriseProfile) -> None:
    """A suspended or refused account reads its tickets but starts nothing new (403)."""
    if profile.suspended:
        raise ApiError(403, "account_suspended")
    if profile.refused:
        raise ApiError(403, "account_refused")


async def account(request: web.Request) -> web.Response:
    """The account as the hotline sees it: whether it is verified yet, or why not."""
    profile = await authenticate(request)
    return web.json_response({"enterprise": profile_json(profile)})


async def rotate_token(request: web.Request) -> web.Response:
    profile = await authenticate(request)
    refuse_if_suspended(profile)
    token = await request.app[CONTEXT].db(request.app[CONTEXT].registry.rotate, profile.id)
    logger.info("enterprise token rotated: id=%s", profile.id)
    return web.json_response({"token": token})


async def file_report(request: web.Request) -> web.Response:
    profile = await authenticate(request)
    body, raw = await read_json(request)
    answer, created = await file_for(request.app, profile, body, raw, _idempotency_key(request))
    return web.json_response(answer, status=201 if created else 200)


def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY or not all(33 <= ord(c) < 127 for c in key):
        raise ApiError(422, "idempotency_key_invalid", "Idempotency-Key")
    return key


async def file_for(
    app: web.Application,
    profile: EnterpriseProfile,
    body: object,
    raw: bytes,
    key: str | None,
) -> tuple[dict[str, Any], bool]:
    """Validate, classify, claim the key, file through TicketService; (answer, created)."""
    refuse_if_suspended(profile)
    context = app[CONTEXT]
    today = intake.today_in_china()
    report = intake.read_report(body, today)
    if report.category is None or not all((report.respondent, report.district)):
        parsed = await app[GATEWAY].parse(report.description)
        if parsed is None:
            raise ApiError(503, "nlu_unavailable")
        report = intake.complete(report, parsed, today)
    draft = intake.draft_for(report, profile)
    claim = None
    if key is not None:
        request_hash = hashlib.sha256(raw).hexdigest()
        claim = context.registry.claim(profile.id, key, request_hash)

    def file_and_read() -> tuple[FiledTicket, reads.ReportDetail | None]:
        # One worker-thread hop for both: under a burst each hop is a GIL hand-over. A new
        # ticket is answered from the row just written; a replay reads the first one back.
        filed = context.tickets.file(
            draft, idempotency_key=claim.ticket_key if claim else None, claim=claim
        )
        if filed.ticket is not None:
            return filed, reads.detail_of(filed.ticket, context.calendar, with_history=False)
        detail = reads.report_detail(
            context.read(), profile.sender_id, filed.number, context.calendar, with_history=False
        )
        return filed, detail

    try:
        filed, detail = await context.db(file_and_read)
    except IdempotencyConflict:
        raise ApiError(409, "idempotency_conflict", "Idempotency-Key") from None
    if detail is None:  # pragma: no cover — filed just now under this sender
        raise ApiError(500, "server_error")
    answer = detail_json(detail, history=False)
    answer["access_code"] = filed.access_code
    answer["replayed"] = not filed.created
    return answer, filed.created


async def list_reports(request: web.Request) -> web.Response:
    profile = await authenticate(request)
    try:
        limit = int(request.query.get("limit", "20"))
    except ValueError:
        raise ApiError(422, "limit_invalid", "limit") from None
    if not 1 <= limit <= MAX_PAGE:
        raise ApiError(422, "limit_invalid", "limit")
    cursor = request.query.get("cursor")
    before = None
    if cursor is not None:
        before = whole_number(cursor)
        if before is None:
            raise ApiError(422, "cursor_invalid", "cursor")
    context = request.app[CONTEXT]
    rows = await context.db(
        reads.list_reports, context.read(), profile.sender_id, limit=limit, before_id=before
    )
    states = lifecycle()
    items = [
        {
            "number": r.number,
            "category": {"code": r.category, "label": category_label(r.category)},
            "status": {"code": r.status, "label": states.state_label(r.status)},
            "department": r.department,
            "created_at": _iso(r.created_at),
        }
        for r in rows
    ]
    next_cursor = str(rows[-1].id) if len(rows) == limit else None
    return web.json_response({"items": items, "next_cursor": next_cursor})


async def get_report(request: web.Request) -> web.Response:
    profile = await authenticate(request)
    number = request.match_info["number"]
    context = request.app[CONTEXT]
    detail = None
    # Only a ticket number's shape reaches the database (a NUL from %00 is an error in PostgreSQL).
    if re.fullmatch(TICKET_ID_PATTERN, number, re.ASCII):
        detail = await context.db(
            reads.report_detail, context.read(), profile.sender_id, number, context.calendar
        )
    if detail is None:
        # Someone else's ticket and no ticket at all look the same: numbers do not leak.
        raise ApiError(404, "ticket_not_found")
    return web.json_response(detail_json(detail, history=True))


def openapi_document() -> dict[str, Any]:
    with open(OPENAPI_FILE, encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.safe_load(handle)
    return document


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())
