"""The web service's access log: one short line per request, without the query string.

aiohttp's default line is Apache's: the whole request line with its query, a strftime of the
time, Referer and User-Agent. The query is where secrets travel here — the one-time enterprise
chat code (`/enterprise/chat?code=…`) and WeChat's `openid` (a person's identity) with its
signature — so it is left out. The default also cost ~5% of the web process's CPU under a burst
of enterprise reports (py-spy --gil, docs/bench.md); logging's own timestamp is enough.
"""

from __future__ import annotations

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse


class AccessLogger(AbstractAccessLogger):
    """`GET /api/v1/enterprise/reports 200 3.1ms` — method, path, status, time taken."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %.1fms", request.method, request.path, response.status, time * 1000
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(20)  # logging.INFO: skip the work when nobody listens
