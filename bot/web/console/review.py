"""The retraining loop in the console (operators and supervisors): 待复核 flags, a conversation's
transcript with what the NLU understood, marking a misunderstood message with the right intent
and entities, the list of corrections and their export as Rasa NLU YAML.

Reads go through bot/review/flags.py and corrections.py; Rasa is asked only by
重新检查 (the model's category for recent tickets' words, the form a quiet conversation left
open) — on demand and once an hour (review_task.py), bounded, audited. Every correction and export is audited.
"""

from __future__ import annotations

import datetime as dt
import functools
import json

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.conversations.record import ConversationStore
from bot.domain.categories import category_for_intent, category_intents, category_label
from bot.domain.clock import utcnow
from bot.nlu_data import domain_entities, domain_intents, domain_response_texts
from bot.review import corrections
from bot.review import flags as review_flags
from bot.review.export import export_corrections
from bot.review.leakage import EvalSetMissing, default_eval_sets
from bot.store.models import Conversation, Ticket
from bot.web.console import transcript
from bot.web.console.access import audit, current_user, requires
from bot.web.console.keys import CONSOLE_SETTINGS, SESSIONS
from bot.web.console.pages import db, notify, render
from bot.web.keys import HTTP_CLIENT
from bot.web.params import ID_PATTERN
from bot.web.rasa_api import RasaApi

ENTITY_ROWS = 3


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/review", flags_page)
    app.router.add_post("/review/refresh", refresh)
    app.router.add_get("/review/corrections", corrections_page)
    app.router.add_get("/review/corrections.yml", export_yaml)
    app.router.add_get(f"/review/messages/{{id:{ID_PATTERN}}}", message_page)
    app.router.add_post(f"/review/messages/{{id:{ID_PATTERN}}}", mark)
    app.router.add_get(f"/conversations/{{id:{ID_PATTERN}}}", conversation_page)


@functools.cache
def _fallback_texts() -> list[str]:
    return domain_response_texts("utter_default")


@functools.cache
def _intent_choices() -> list[tuple[str, str]]:
    return [(i, transcript.intent_label(i)) for i in domain_intents()]


@requires("review.view")
async def flags_page(request: web.Request) -> web.Response:
    sessions = request.app[SESSIONS]
    now = utcnow()
    categories = await db(review_flags.category_disagreements, sessions)
    fallbacks = await db(review_flags.fallback_endings, sessions, now, _fallback_texts())
    gave_up = await db(review_flags.gave_up_mid_form, sessions, now)
    return await render(
        request,
        "review.html",
        {
            "categories": categories,
            "fallbacks": fallbacks,
            "gave_up": gave_up,
            "mask": transcript.mask_alone,
            "category_label": category_label,
            "quiet_minutes": int(review_flags.QUIET.total_seconds() // 60),
        },
    )


async def recheck(
    sessions: sessionmaker[Session], rasa: RasaApi, now: dt.datetime
) -> tuple[str, int, int] | None:
    """Ask the current model about recent tickets' words and quiet conversations' open form:
    (model, tickets checked, conversations asked), None when Rasa does not answer. Used by the
    重新检查 button and by the hourly round (bot/web/console/review_task.py)."""
    model = await rasa.model()
    if model is None:
        return None
    checked = asked = 0
    complaint_intents = set(category_intents())
    for ticket_id, description in await db(review_flags.tickets_to_check, sessions, model, now):
        parsed = await rasa.parse(description)
        if parsed is None:
            break
        intent = (parsed.get("intent") or {}).get("name")
        confidence = (parsed.get("intent") or {}).get("confidence")
        category = category_for_intent(intent) if intent in complaint_intents else None
        await db(
            review_flags.record_check,
            sessions,
            ticket_id,
            model,
            intent,
            float(confidence) if isinstance(confidence, int | float) else None,
            category,
            now,
        )
        checked += 1
    for message_id, sender in await db(review_flags.forms_to_check, sessions, now):
        answered, form = await rasa.active_form(sender)
        if not answered:
            break
        await db(review_flags.record_form, sessions, message_id, form)
        asked += 1
    return model, checked, asked


@requires("review.view")
async def refresh(request: web.Request) -> web.StreamResponse:
    """重新检查, now."""
    settings = request.app[CONSOLE_SETTINGS]
    rasa = RasaApi(request.config_dict[HTTP_CLIENT], settings.rasa_url, settings.rasa_auth)
    done = await recheck(request.app[SESSIONS], rasa, utcnow())
    if done is None:
        await notify(request, "智能助手（Rasa）暂时无法访问，未能检查，请稍后再试。", error=True)
        raise web.HTTPSeeOther("/console/review")
    model, checked, asked = done
    await audit(request, "review_refresh", detail=f"工单 {checked} 张，对话 {asked} 个（{model}）")
    await notify(request, f"已用当前模型检查 {checked} 张工单、{asked} 个中断的对话。")
    raise web.HTTPSeeOther("/console/review")


@requires("review.view")
async def conversation_page(request: web.Request) -> web.Response:
    sessions = request.app[SESSIONS]
    conversation_id = int(request.match_info["id"])
    found = await db(_conversation, sessions, conversation_id)
    if found is None:
        raise web.HTTPNotFound(text="没有这个对话。")
    conversation, numbers = found
    rows = await db(ConversationStore(sessions).history, conversation_id, 500)
    return await render(
        request,
        "review_conversation.html",
        {
            "conversation": conversation,
            "tickets": numbers,
            "messages": [transcript.row(m, transcript.conversation_masker(rows)) for m in rows],
        },
    )


def _conversation(
    sessions: sessionmaker[Session], conversation_id: int
) -> tuple[Conversation, list[str]] | None:
    with sessions() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            return None
        numbers = list(
            session.scalars(
                select(Ticket.number).where(Ticket.sender_id == conversation.rasa_sender_id)
            )
        )
        session.expunge_all()
        return conversation, numbers


async def _message_context(request: web.Request, message_id: int) -> dict[str, object]:
    sessions = request.app[SESSIONS]
    message = await db(corrections.message, sessions, message_id)
    if message is None or message.direction != "in":
        raise web.HTTPNotFound(text="没有这条来电人消息。")
    existing = await db(corrections.of_message, sessions, message_id)
    around = await db(ConversationStore(sessions).history, message.conversation_id, 500)
    masked = transcript.conversation_masker(around)
    return {
        "message": transcript.row(message, masked),
        "conversation_id": message.conversation_id,
        "entities": [
            {**e, "value": masked(str(e.get("value", "")))}
            for e in json.loads(message.entities or "[]")
        ],
        "existing": existing,
        "existing_spans": [
            (e, masked(existing.text[a:b])) for e, a, b in corrections.spans_of(existing)
        ]
        if existing
        else [],
        "intents": _intent_choices(),
        "entity_types": domain_entities(),
        "entity_rows": range(ENTITY_ROWS),
    }


@requires("review.mark")
async def message_page(request: web.Request) -> web.Response:
    context = await _message_context(request, int(request.match_info["id"]))
    return await render(request, "review_message.html", context)


@requires("review.mark")
async def mark(request: web.Request) -> web.StreamResponse:
    message_id = int(request.match_info["id"])
    context = await _message_context(request, message_id)
    form = await request.post()
    intent = str(form.get("intent", "")).strip()
    spans = [
        corrections.SpanInput(
            str(form.get(f"entity_{n}", "")).strip(), str(form.get(f"span_{n}", "")).strip()[:200]
        )
        for n in range(ENTITY_ROWS)
        if str(form.get(f"span_{n}", "")).strip()
    ]
    account = current_user(request)
    try:
        saved = await db(
            corrections.mark,
            request.app[SESSIONS],
            message_id,
            intent,
            spans,
            reviewer=account.username,
            role=account.role,
            intents=domain_intents(),
            entity_types=domain_entities(),
        )
    except corrections.CorrectionRefused as exc:
        await notify(request, f"未保存：{exc}", error=True)
        return await render(request, "review_message.html", {**context, "form": form}, status=422)
    await audit(
        request,
        "nlu_correction",
        detail=f"消息 {message_id}：{saved.predicted_intent or '—'} → {saved.intent}，"
        f"实体 {len(spans)} 个",
    )
    await notify(request, f"已记录：这条消息的正确意图是 {transcript.intent_label(intent)}。")
    raise web.HTTPSeeOther(f"/console/review/messages/{message_id}")


@requires("review.view")
async def corrections_page(request: web.Request) -> web.Response:
    rows = await db(corrections.listing, request.app[SESSIONS], 500)
    try:
        sets = await db(default_eval_sets)
        copies = {r.id: sets.copies(r.text) for r in rows}
        missing = ""
    except EvalSetMissing as exc:
        copies, missing = {}, str(exc)
    return await render(
        request,
        "review_corrections.html",
        {
            "rows": [
                {
                    "c": r,
                    "text": transcript.mask_alone(r.text),
                    "spans": [
                        (e, transcript.mask_alone(r.text[a:b]))
                        for e, a, b in corrections.spans_of(r)
                    ],
                    "leak": copies.get(r.id),
                    "label": transcript.intent_label(r.intent),
                    "predicted": transcript.intent_label(r.predicted_intent),
                }
                for r in rows
            ],
            "missing": missing,
        },
    )


@requires("review.view")
async def export_yaml(request: web.Request) -> web.StreamResponse:
    try:
        export = await db(export_corrections, request.app[SESSIONS])
    except EvalSetMissing as exc:
        await notify(request, str(exc), error=True)
        raise web.HTTPSeeOther("/console/review/corrections") from None
    await audit(
        request,
        "export_corrections",
        detail=f"导出 {len(export.exported)} 条，未导出 {len(export.refused)} 条（与评测集重复）",
    )
    name = f"corrections-{utcnow():%Y%m%d-%H%M}.yml"
    return web.Response(
        text=export.text,
        content_type="application/x-yaml",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
