"""Admin page: registered enterprises, and stopping one (暂停) or letting it report again (恢复);
the operators' 企业核实 page: the accounts waiting to be verified, approved or refused.

A registration is a claim to be the company until an operator checks it — by the company's own
number in the national enterprise credit register (国家企业信用信息公示系统), not the number the
claimant typed — and approves it (核实通过) or refuses it (不通过), a reason required either way,
audited with the operator's name. The page shows the full 统一社会信用代码 (the operator looks it
up; it is the company's public registration, not a person's data) and which other accounts claim
the same code.

A suspended enterprise's token, one-click form and chat links answer 403 with a Chinese reason
(bot/web/enterprise_api.py `refuse_if_suspended`); it can still read the tickets it filed. The
contact person's name and phone are personal data and shown masked, like every console screen.
Every change is a CSRF-checked POST and audited.
"""

from __future__ import annotations

from aiohttp import web

from bot.domain.privacy import mask_name, mask_phone, mask_uscc
from bot.enterprises.registry import AlreadyVerified, EnterpriseRegistry, InvalidField
from bot.privacy.keys import load_or_create_key
from bot.web.console.access import audit, current_user, requires
from bot.web.console.keys import CONSOLE_SETTINGS, SESSIONS
from bot.web.console.pages import db, notify, render
from bot.web.params import ID_PATTERN

REGISTRY = web.AppKey("console_enterprises", EnterpriseRegistry)


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/enterprises", enterprises_page, name="enterprises")
    app.router.add_post(
        f"/enterprises/{{id:{ID_PATTERN}}}/{{change:suspend|reinstate}}", change_enterprise
    )
    app.router.add_get("/enterprises/pending", pending_page, name="enterprises_pending")
    app.router.add_post("/enterprises/{id:\\d+}/{decision:verify|refuse}", decide)
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
            "verification": p.verification_label,
            "verified": p.verified,
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


@requires("enterprises.verify")
async def pending_page(request: web.Request) -> web.Response:
    claims = await db(request.app[REGISTRY].pending, limit=100)
    rows = [
        {
            "id": c.profile.id,
            "name": c.profile.name,
            "uscc": c.profile.uscc,
            "contact": f"{mask_name(c.profile.contact_name)} {mask_phone(c.profile.phone)}",
            "created_at": c.profile.created_at,
            "other_claims": c.other_claims,
            "verified": f"{c.verified.name}（账号 {c.verified.id}）" if c.verified else "",
        }
        for c in claims
    ]
    return await render(request, "enterprises_pending.html", {"rows": rows})


@requires("enterprises.verify")
async def decide(request: web.Request) -> web.StreamResponse:
    """核实通过 or 不通过, with the reason; audited with who decided."""
    registry = request.app[REGISTRY]
    enterprise_id = int(request.match_info["id"])
    decision = request.match_info["decision"]
    form = await request.post()
    reason = str(form.get("reason", ""))
    by = current_user(request).username
    # Back where the form was: the pending list, or the admin's list (撤销核实 of a verified one).
    back = "enterprises" if form.get("back") == "enterprises" else "enterprises/pending"
    target = f"/console/{back}"
    try:
        if decision == "verify":
            profile = await db(registry.verify, enterprise_id, reason, by=by)
        else:
            profile = await db(registry.refuse, enterprise_id, reason, by=by)
    except InvalidField:
        await notify(request, "请填写核实情况或不通过的原因。", error=True)
        raise web.HTTPSeeOther(target) from None
    except AlreadyVerified as taken:
        await notify(
            request,
            f"该信用代码已有核实通过的账号（{taken.other.name}，账号 {taken.other.id}）。"
            "如它不是该企业的，请管理员先在「企业账号」页撤销它的核实。",
            error=True,
        )
        raise web.HTTPSeeOther(target) from None
    if profile is None:
        raise web.HTTPNotFound()
    await audit(request, f"enterprise_{decision}", detail=profile.decision_note())
    await notify(request, f"{profile.name}：{profile.verification_label}。")
    raise web.HTTPSeeOther(target)
