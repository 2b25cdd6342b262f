"""What every response of the web service carries, in one place: security headers, Secure
cookies behind HTTPS, and the client's address for per-address limits.

Registered once on the main application (`setup_security`); aiohttp runs the main app's
`on_response_prepare` for the console sub-application's responses too, and for static files and
error answers, so no page can be left without the headers.
"""

from __future__ import annotations

import ipaddress

from aiohttp import web

from bot.web.keys import SETTINGS

_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'{styles}; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# No inline script anywhere (data goes in data- attributes and JSON). The citizens' and
# enterprises' pages have no inline style either; the console allows it for ECharts' tooltips.
PAGE_POLICY = _POLICY.format(styles="")
CONSOLE_POLICY = _POLICY.format(styles=" 'unsafe-inline'")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # older browsers; frame-ancestors says the same
    "Referrer-Policy": "same-origin",
}
HSTS = "max-age=31536000"


def served_over_https(request: web.Request) -> bool:
    """TLS here, or at the proxy in front (X-Forwarded-Proto). Believing the header without
    knowing the proxy is safe for what it is used for: it can only make cookies Secure."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.secure or forwarded == "https"


def client_ip(request: web.Request) -> str | None:
    """The client's address: the peer, or — only when the peer is a proxy we were told to trust
    (HOTLINE_TRUSTED_PROXIES) — the address that proxy appended to X-Forwarded-For. A header
    from anyone else is ignored, or every request could claim a fresh address."""
    peer = request.remote
    trusted = request.app[SETTINGS].trusted_proxies if SETTINGS in request.app else ()
    if peer and peer in trusted:
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]
        for hop in reversed(hops):
            if hop and hop not in trusted:
                try:
                    return str(ipaddress.ip_address(hop))
                except ValueError:
                    return peer
    return peer


async def secure_response(request: web.Request, response: web.StreamResponse) -> None:
    policy = CONSOLE_POLICY if request.path.startswith("/console/") else PAGE_POLICY
    response.headers.setdefault("Content-Security-Policy", policy)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if served_over_https(request):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
        # The Set-Cookie lines are written before this hook runs: mark them, not the morsels.
        cookies = response.headers.popall("Set-Cookie", [])
        for cookie in cookies:
            secure = "; secure" in cookie.lower()
            response.headers.add("Set-Cookie", cookie if secure else f"{cookie}; Secure")


def setup_security(app: web.Application) -> None:
    app.on_response_prepare.append(secure_response)
