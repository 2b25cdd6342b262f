"""The ticket queue, the ticket page and the closed loop in the console.

Every change goes through TicketService (the state machine refuses what the rules do not
allow, and its message is shown as is); this module never writes a ticket row. A department
handler asking for another department's ticket gets the same 404 as for a number that does not
exist, so it cannot even learn which numbers exist.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from aiohttp import web

from bot.accounts.users import Account
from bot.domain.lifecycle import IllegalTransition
from bot.store.models import Ticket
from bot.tickets import queue
from bot.tickets.service import UnknownTicket
from bot.tickets.transcript import ticket_part
from bot.web.console import ticket_view
from bot.web.console.access import audit, current_user, may_act, requires
from bot.web.console.keys import SERVICE, SESSIONS
from bot.web.console.pages import categories, db, departments, districts, notify, render
from bot.web.console.texts import NOT_FOUND, RATINGS
from bot.web.console.transcript import mask_alone
from bot.web.params import whole_number


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/tickets", ticket_list, name="tickets")
    app.router.add_get("/tickets/{number}", ticket_page, name="ticket")
    app.router.add_post("/tickets/{number}/reveal", reveal)
    app.router.add_post("/tickets/{number}/act", act)
    app.router.add_get("/handoffs", handoffs, name="handoffs")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def filter_from(query: Any, account: Account) -> queue.QueueFilter:
    """The list's filters from the query string; the department scope from the account only."""

    def text(name: str) -> str:
        return str(query.get(name, "")).strip()[:200]

    return queue.QueueFilter(
        status=text("status"),
        category=text("category"),
        district=text("district"),
        department=text("department"),
        overdue=query.get("overdue") == "1",
        supervised=query.get("supervised") == "1",
        handoff=query.get("handoff") == "1",
        search=text("q"),
        department_scope=(account.department or "") if account.role == "department" else None,
    )


async def visible_ticket(request: web.Request, number: str) -> Ticket:
    """The ticket if this user may see it; otherwise the same 404 as an unknown number."""
    account = current_user(request)
    ticket = await db(queue.by_number, request.app[SESSIONS], number[:32])
    if ticket is None or not ticket_view.may_see(ticket, account):
        raise web.HTTPNotFound(text=NOT_FOUND)
    return ticket


@requires("tickets.view")
async def ticket_list(request: web.Request) -> web.Response:
    account = current_user(request)
    f = filter_from(request.query, account)
    after = request.query.get("after", "")
    after_id = whole_number(after)
    moment = now()
    rows, next_id = await db(queue.page, request.app[SESSIONS], f, moment, after_id=after_id)
    params = {k: v for k, v in request.query.items() if k != "after" and v}
    return await render(
        request,
        "queue.html",
        {
            "rows": [ticket_view.row(t, account, moment) for t in rows],
            "next_id": next_id,
            "filter": f,
            "params": params,
            "categories": categories(),
            "districts": districts(),
            "departments": departments(),
            "states": list(_states().items()),
        },
    )


def _states() -> dict[str, str]:
    from bot.domain.lifecycle import lifecycle

    return lifecycle().states


async def _ticket_page(
    request: web.Request, ticket: Ticket, *, reveal: bool, status: int = 200
) -> web.Response:
    account = current_user(request)
    moment = now()
    # Only this ticket's part of its conversation; none of it for a department when the
    # conversation also filed a ticket it may not read (bot/tickets/transcript.py).
    reader = account.department if account.role == "department" else None
    part = await db(ticket_part, request.app[SESSIONS], ticket, department=reader)
    return await render(
        request,
        "ticket.html",
        {
            "transcript": ticket_view.transcript(ticket, part.messages, account, reveal),
            "transcript_withheld": part.withheld,
            "t": ticket_view.row(ticket, account, moment, reveal),
            "ticket": ticket,
            "events": ticket_view.events(ticket, list(ticket.events), account, reveal),
            "revealed": reveal and ticket_view.may_reveal(ticket, account),
            "may_reveal": ticket_view.may_reveal(ticket, account),
            "departments": departments(),
            "ratings": RATINGS,
            "deadlines": [
                ("派单期限", ticket.dispatch_due_at),
                ("签收期限", ticket.sign_due_at),
                ("答复期限", ticket.answer_due_at),
                ("督办期限", ticket.escalate_due_at),
            ],
            "amount": _money(ticket.amount),
        },
        status=status,
    )


@requires("tickets.view")
async def ticket_page(request: web.Request) -> web.Response:
    ticket = await visible_ticket(request, request.match_info["number"])
    return await _ticket_page(request, ticket, reveal=False)


@requires("tickets.reveal")
async def reveal(request: web.Request) -> web.Response:
    """Full personal data, once, for this response only — and an audit row saying so."""
    account = current_user(request)
    ticket = await visible_ticket(request, request.match_info["number"])
    if not ticket_view.may_reveal(ticket, account):
        await audit(request, "reveal_refused", ticket=ticket.number, detail="身份保护")
        raise web.HTTPForbidden(text="该投诉人的身份受保护，您无权查看。")
    await audit(request, "reveal", ticket=ticket.number, detail="姓名、电话、企业、描述原文")
    return await _ticket_page(request, ticket, reveal=True)


@requires("tickets.view")
async def act(request: web.Request) -> web.StreamResponse:
    account = current_user(request)
    ticket = await visible_ticket(request, request.match_info["number"])
    form = await request.post()
    action = str(form.get("action", ""))
    note = str(form.get("note", "")).strip()[:4000] or None
    department = str(form.get("department", "")).strip()[:200] or None
    target = f"/console/tickets/{ticket.number}"
    if not may_act(account, action):
        await audit(request, "act_refused", ticket=ticket.number, detail=f"{action}：角色无权")
        raise web.HTTPForbidden(text="您的角色不能执行此操作。")
    if department is not None and department not in departments():
        await notify(request, f"未知的承办单位：{department}", error=True)
        raise web.HTTPSeeOther(target)
    service = request.app[SERVICE]
    actor = f"{account.role}:{account.username}"
    try:
        if action == "revisit":
            rating = str(form.get("rating", ""))
            if rating not in RATINGS:
                raise IllegalTransition("回访需要选择评价结果", action=action, state=ticket.status)
            await db(service.rate, ticket.number, rating, note or "", actor=actor)
        else:
            await db(
                service.act, ticket.number, action, actor=actor, note=note, department=department
            )
    except IllegalTransition as refused:
        await audit(request, "act_refused", ticket=ticket.number, detail=f"{action}：{refused}")
        await notify(request, f"操作未执行：{refused}", error=True)
        raise web.HTTPSeeOther(target) from None
    except (UnknownTicket, ValueError) as refused:
        await notify(request, f"操作未执行：{refused}", error=True)
        raise web.HTTPSeeOther(target) from None
    await audit(
        request,
        "act",
        ticket=ticket.number,
        detail=f"{action}{'→' + department if department else ''}",
    )
    await notify(request, "操作成功。")
    raise web.HTTPSeeOther(target)


@requires("handoffs.view")
async def handoffs(request: web.Request) -> web.Response:
    rows = await db(queue.waiting_handoffs, request.app[SESSIONS])
    # The reason is the caller's own words: phone and ID numbers in it are masked, and a name
    # it introduces (the conversation page masks the names given anywhere in the chat).
    shown = [
        {
            "id": h.id,
            "created_at": h.created_at,
            "channel": h.channel,
            "reason": mask_alone(h.reason),
            "ticket_number": h.ticket_number,
        }
        for h in rows
    ]
    return await render(request, "handoffs.html", {"rows": shown})


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f} 元"
