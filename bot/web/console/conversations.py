"""Live takeover of a 转人工 conversation: the transcript, 接管 (the bot stops answering),
messages typed by the operator (pushed to the person through the gateway), 交还 (the bot again).
The page follows the conversation live: static/console/takeover.js asks `…/messages?after=`
every two seconds for what was recorded since (masked like the page).

The gateway records and delivers; this module only says who holds the conversation
(bot/conversations/takeover.py) and moves the queue entry through TicketService. Every step is audited.
"""

from __future__ import annotations

from aiohttp import web

from bot.conversations import takeover
from bot.store.models import Handoff
from bot.tickets import queue
from bot.web.console import transcript
from bot.web.console.access import audit, requires
from bot.web.console.keys import SERVICE, SESSIONS
from bot.web.console.pages import db, local_time, notify, render
from bot.web.keys import GATEWAY
from bot.web.params import ID_PATTERN, whole_number

MAX_CHARS = 2000


def setup_routes(app: web.Application) -> None:
    app.router.add_get(f"/handoffs/{{id:{ID_PATTERN}}}", conversation_page)
    app.router.add_get(f"/handoffs/{{id:{ID_PATTERN}}}/messages", new_messages)
    app.router.add_post(f"/handoffs/{{id:{ID_PATTERN}}}/{{step:take|send|release}}", step)


async def _handoff(request: web.Request) -> Handoff:
    found = await db(takeover.handoff, request.app[SESSIONS], int(request.match_info["id"]))
    if found is None:
        raise web.HTTPNotFound(text="没有这个转人工请求。")
    return found


@requires("handoffs.view")
async def conversation_page(request: web.Request) -> web.Response:
    handoff = await _handoff(request)
    sessions = request.app[SESSIONS]
    conversation = await db(takeover.conversation_of, sessions, handoff.sender_id)
    messages = await db(queue.transcript, sessions, handoff.sender_id)
    # Phone and ID numbers and the names the person gave stay masked here too; the ticket page
    # reveals (audited).
    masked = transcript.conversation_masker(messages)
    return await render(
        request,
        "conversation.html",
        {
            "handoff": handoff,
            "conversation": conversation,
            "reason": masked(handoff.reason),
            "messages": [transcript.row(m, masked) for m in messages],
        },
    )


@requires("handoffs.view")
async def new_messages(request: web.Request) -> web.Response:
    """The messages after `?after=<id>` and who holds the conversation, for the live page."""
    handoff = await _handoff(request)
    after = whole_number(request.query.get("after", "0"))
    if after is None:
        raise web.HTTPBadRequest(text="after 必须是消息编号")
    sessions = request.app[SESSIONS]
    conversation = await db(takeover.conversation_of, sessions, handoff.sender_id)
    messages = await db(queue.transcript, sessions, handoff.sender_id)
    masked = transcript.conversation_masker(messages)
    rows = [transcript.row(m, masked) for m in messages if m.id > after]
    return web.json_response(
        {
            "holder": conversation.state if conversation else None,
            "messages": [
                {"id": r["id"], "at": local_time(r["at"]), "who": r["who"], "text": r["text"]}
                for r in rows
            ],
        },
        headers={"Cache-Control": "no-store"},
    )


@requires("handoffs.take")
async def step(request: web.Request) -> web.StreamResponse:
    handoff = await _handoff(request)
    target = f"/console/handoffs/{handoff.id}"
    sessions = request.app[SESSIONS]
    conversation = await db(takeover.conversation_of, sessions, handoff.sender_id)
    if conversation is None:
        await notify(request, "这个请求没有对应的对话记录，无法接管。", error=True)
        raise web.HTTPSeeOther(target)
    what = request.match_info["step"]
    if what == "take":
        if not await db(takeover.hand_to, sessions, conversation.id, "human"):
            await notify(request, "对话已结束，无法接管。", error=True)
            raise web.HTTPSeeOther(target)
        await db(request.app[SERVICE].mark_handoff, handoff.id, "taken")
        await audit(
            request, "takeover", ticket=handoff.ticket_number, detail=f"对话 {conversation.id}"
        )
        await notify(request, "已接管：智能助手暂停回复，来电人的消息由您回复。")
    elif what == "release":
        await db(takeover.hand_to, sessions, conversation.id, "bot")
        await db(request.app[SERVICE].mark_handoff, handoff.id, "done")
        await audit(
            request, "release", ticket=handoff.ticket_number, detail=f"对话 {conversation.id}"
        )
        await notify(request, "已交还智能助手。")
    else:
        form = await request.post()
        text = str(form.get("text", "")).strip()[:MAX_CHARS]
        if not text:
            await notify(request, "请输入要发送的内容。", error=True)
            raise web.HTTPSeeOther(target)
        if conversation.state != "human":
            await notify(request, "请先接管对话再发送。", error=True)
            raise web.HTTPSeeOther(target)
        from bot.web.gateway import Reply

        delivered = await request.config_dict[GATEWAY].push(
            conversation.id, [Reply(text=text)], direction="operator"
        )
        await audit(
            request,
            "operator_message",
            ticket=handoff.ticket_number,
            detail=f"对话 {conversation.id}",
        )
        await notify(request, "已发送。" if delivered else "已记录；来电人下次打开对话时可见。")
    raise web.HTTPSeeOther(target)
