"""What every response of the web service carries, in one place: security headers, the flags
of every cookie (Secure behind HTTPS and always in production, SameSite=Lax), and the client's
address for per-address limits.

Registered once on the main application (`setup_security`); aiohttp runs the main app's
`on_response_prepare` for the console sub-application's responses too, and for static files and
error answers, so no page can be left without the headers.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
from typing import TypedDict

from aiohttp import web

from bot.web.keys import SETTINGS

logger = logging.getLogger("bot.web.security")

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


class CookieFlags(TypedDict):
    httponly: bool
    samesite: str
    secure: bool


def served_over_https(request: web.Request) -> bool:
    """TLS here, or at the proxy in front (X-Forwarded-Proto, which nginx passes on from a TLS
    terminator in front of it). Believing the header without knowing the proxy is safe for what
    it is used for: it can only make cookies Secure and send HSTS."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.secure or forwarded == "https"


def https_only(request: web.Request) -> bool:
    """Whether this response marks its cookies Secure and sends HSTS: over HTTPS, and in the
    production profile always — its public side is HTTPS whatever a terminator forgot to say —
    except to a loopback client (the machine's own tools, proofs and tests, on plain HTTP)."""
    if served_over_https(request):
        return True
    settings = request.config_dict.get(SETTINGS)
    if settings is None or settings.profile != "production":
        return False
    address = client_ip(request)
    try:
        return address is None or not ipaddress.ip_address(address).is_loopback
    except ValueError:
        return True


def cookie_flags(request: web.Request) -> CookieFlags:
    """The flags of every cookie the web service sets (chat, console, enterprise pages).

    SameSite=Lax, not Strict: a person who follows a link to the hotline (a portal, a WeChat
    article) must arrive with their conversation or console session; Lax still keeps the cookie
    off another site's POSTs, and every form also checks its CSRF token."""
    return {"httponly": True, "samesite": "Lax", "secure": https_only(request)}


def client_ip(request: web.Request) -> str | None:
    """The client's address: the peer, or — only when the peer is a proxy we were told to trust
    (HOTLINE_TRUSTED_PROXIES: addresses or networks) — the address that proxy appended to
    X-Forwarded-For. A header from anyone else is ignored, or every request could claim a fresh
    address; it is also logged as a warning, once per peer: behind a proxy nobody declared,
    every client has the proxy's address and shares one per-address count."""
    peer = request.remote
    settings = request.config_dict.get(SETTINGS)
    trusted = _networks(settings.trusted_proxies) if settings is not None else ()
    forwarded = request.headers.get("X-Forwarded-For", "")
    if not peer:
        return peer
    if _is_trusted(peer, trusted):
        hops = [h.strip() for h in forwarded.split(",")]
        for hop in reversed(hops):
            if hop and not _is_trusted(hop, trusted):
                try:
                    return str(ipaddress.ip_address(hop))
                except ValueError:
                    return peer
    elif forwarded:
        _warn_untrusted(peer)
    return peer


_warned: set[str] = set()
_MAX_WARNED = 1000


def _warn_untrusted(peer: str) -> None:
    if peer in _warned or len(_warned) >= _MAX_WARNED:
        return
    _warned.add(peer)
    logger.warning(
        "X-Forwarded-For from %s, which is not a trusted proxy: the header is ignored and the "
        "peer's own address is counted. If %s is your proxy, add it to HOTLINE_TRUSTED_PROXIES, "
        "or every client behind it shares one per-address limit (chat rate, status look-ups, "
        "console sign-in).",
        peer,
        peer,
    )


@functools.cache
def _networks(
    entries: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            logger.warning("HOTLINE_TRUSTED_PROXIES: %r is no address or network, ignored", entry)
    return tuple(networks)


def _is_trusted(
    address: str, trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


async def secure_response(request: web.Request, response: web.StreamResponse) -> None:
    policy = CONSOLE_POLICY if request.path.startswith("/console/") else PAGE_POLICY
    response.headers.setdefault("Content-Security-Policy", policy)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if https_only(request):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
        # The Set-Cookie lines are written before this hook runs: mark them, not the morsels.
        cookies = response.headers.popall("Set-Cookie", [])
        for cookie in cookies:
            secure = "; secure" in cookie.lower()
            response.headers.add("Set-Cookie", cookie if secure else f"{cookie}; Secure")


def setup_security(app: web.Application) -> None:
    app.on_response_prepare.append(secure_response)
