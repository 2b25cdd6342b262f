"""Admin page: registered enterprises, and stopping one (暂停) or letting it report again (恢复).

A suspended enterprise's token, one-click form and chat links answer 403 with a Chinese reason
(bot/web/enterprise_api.py `refuse_if_suspended`); it can still read the tickets it filed. The
contact person's name and phone are personal data and shown masked, like every console screen.
Every change is a CSRF-checked POST and audited.
"""

from __future__ import annotations

from aiohttp import web

from bot.domain.privacy import mask_name, mask_phone, mask_uscc
from bot.tickets.enterprises import EnterpriseRegistry, InvalidField
from bot.tickets.secret_keys import load_or_create_key
from bot.web.console.access import audit, requires
from bot.web.console.keys import CONSOLE_SETTINGS, SESSIONS
from bot.web.console.pages import db, notify, render

REGISTRY = web.AppKey("console_enterprises", EnterpriseRegistry)


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/enterprises", enterprises_page, name="enterprises")
    app.router.add_post("/enterprises/{id:\\d+}/{change:suspend|reinstate}", change_enterprise)
    app.on_startup.append(_registry)


async def _registry(app: web.Application) -> None:
    settings = app[CONSOLE_SETTINGS]
    key = load_or_create_key(settings.var_dir, settings.enterprise_key)
    app[REGISTRY] = EnterpriseRegistry(app[SESSIONS], key)


@requires("enterprises.manage")
async def enterprises_page(request: web.Request) -> web.Response:
    query = request.query.get("q", "")[:60]
    found = await db(request.app[REGISTRY].search, query, limit=100)
    rows = [
        {
            "id": p.id,
            "name": p.name,
            "uscc": mask_uscc(p.uscc),
            "contact": f"{mask_name(p.contact_name)} {mask_phone(p.phone)}",
            "suspended_at": p.suspended_at,
            "reason": p.suspended_reason or "",
        }
        for p in found
    ]
    return await render(request, "enterprises.html", {"rows": rows, "query": query})


@requires("enterprises.manage")
async def change_enterprise(request: web.Request) -> web.StreamResponse:
    registry = request.app[REGISTRY]
    enterprise_id = int(request.match_info["id"])
    change = request.match_info["change"]
    form = await request.post()
    try:
        if change == "suspend":
            profile = await db(registry.suspend, enterprise_id, str(form.get("reason", "")))
        else:
            profile = await db(registry.reinstate, enterprise_id)
    except InvalidField:
        await notify(request, "请填写暂停原因（企业会看到）。", error=True)
        raise web.HTTPSeeOther("/console/enterprises") from None
    if profile is None:
        raise web.HTTPNotFound()
    await audit(request, f"enterprise_{change}", detail=profile.suspension_note())
    await notify(request, f"已{'暂停' if profile.suspended else '恢复'} {profile.name}。")
    raise web.HTTPSeeOther("/console/enterprises")
