"""The operator view's HTTP server (aiohttp), on the agent's own asyncio loop.

Routes: the page and its two static files; `/api/stream` (server-sent events: a snapshot every push,
agent/web/feed.py); `/api/snapshot` (the current one, for scripts); `/api/session`, `/api/login`,
`/api/logout`; `/api/action/<name>` (agent/web/actions.py); `/api/hotlab/table5` (the context form's
exams). Viewing needs nothing; actions need a login session and its CSRF token (agent/web/auth.py).
A server that cannot start (address in use…) is logged loudly and leaves the dose monitoring alone.
"""

from __future__ import annotations

__all__ = ["WebServer"]

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import web

from agent.web.actions import CommandPath, submit_action
from agent.web.auth import Keyring, LoginLimiter, SessionBook, role_name
from agent.web.feed import Feed, StateSource

log = logging.getLogger(__name__)
COOKIE = "doseedge_session"
STATIC = {"app.js": "text/javascript", "app.css": "text/css", "index.html": "text/html"}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
MAX_BODY = 16 * 1024


def _static(name: str) -> bytes:
    return (resources.files("agent.web") / "static" / name).read_bytes()


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


class WebServer:
    def __init__(
        self,
        source: StateSource,
        path: CommandPath,
        keyring: Keyring | None,
        announce: Callable[[str], None] = lambda text: None,
    ) -> None:
        self.config = source.config.web
        self.source = source
        self.path = path
        self.keyring = keyring
        self.announce = announce
        self.feed = Feed(source)
        clock = source.clock
        self.sessions = SessionBook(
            clock.monotonic,
            self.config.session_idle_timeout_s,
            self.config.session_max_age_s,
            self.config.max_sessions,
        )
        self.limiter = LoginLimiter(clock.monotonic, self.config.login_failures_per_minute)
        self.counters: Counter[str] = Counter()
        self.url = ""
        self.error = ""
        self.streams = 0
        self._files = {name: _static(name) for name in STATIC}
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------ life

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._headers])
        app.router.add_get("/", self._index)
        app.router.add_get("/static/{name}", self._file)
        app.router.add_get("/api/snapshot", self._snapshot)
        app.router.add_get("/api/stream", self._stream)
        app.router.add_get("/api/session", self._session)
        app.router.add_post("/api/login", self._login)
        app.router.add_post("/api/logout", self._logout)
        app.router.add_post("/api/action/{name}", self._action)
        app.router.add_get("/api/hotlab/table5", self._table5)
        return app

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop`; then close every open stream (the pages say MONITOR DOWN)."""
        runner = web.AppRunner(self.app(), access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        host, port = self.config.host, self.config.port
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except OSError as exc:
            self.error = f"cannot listen on {host}:{port}: {exc}"
            log.error("OPERATOR VIEW UNAVAILABLE: %s (dose monitoring goes on)", self.error)
            self.announce(f"Operator view unavailable: {self.error}")
            await runner.cleanup()
            return
        self._runner = runner
        bound = runner.addresses[0][1] if runner.addresses else port
        shown = "localhost" if host in ("127.0.0.1", "localhost") else host
        self.url = f"http://{shown}:{bound}/"
        self.announce(f"Operator view: {self.url}")
        try:
            await self.feed.run(stop)
        finally:
            self.feed.close()
            await runner.cleanup()

    @web.middleware
    async def _headers(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        response = await handler(request)
        for key, value in HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    # ------------------------------------------------------------ viewing

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(body=self._files["index.html"], content_type="text/html", charset="utf-8")

    async def _file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC or name == "index.html":
            raise web.HTTPNotFound()
        return web.Response(body=self._files[name], content_type=STATIC[name], charset="utf-8")

    async def _snapshot(self, request: web.Request) -> web.Response:
        return _json(self.feed.current or self.feed.publish())

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        if self.streams >= self.config.max_stream_clients:
            self.counters["streams_refused"] += 1
            return _json({"error": "too many open pages"}, 503)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"retry: 1000\n\n")  # the browser reconnects after 1 s, not its default 3
        self.streams += 1
        seq = -1 if self.feed.current is None else self.feed.current["seq"] - 1  # the current one first
        try:
            while (snap := await self.feed.next_after(seq)) is not None:
                seq = snap["seq"]
                data = json.dumps(snap, ensure_ascii=False, separators=(",", ":"))
                await response.write(f"event: snapshot\ndata: {data}\n\n".encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.streams -= 1
        return response

    async def _table5(self, request: web.Request) -> web.Response:
        hotlab = self.source.pipeline.hotlab
        if hotlab is None:
            return _json([])
        rows = [
            {"row": r.row, "exam": r.exam, "nuclide": r.nuclide, "chemical_form": r.chemical_form}
            for r in hotlab.data.table5.rows
        ]
        return _json(rows)

    # ------------------------------------------------------------ login and actions

    def _same_origin(self, request: web.Request) -> bool:
        """Browsers send Origin on every POST; another site's page gets nothing through here."""
        origin = request.headers.get("Origin")
        return origin is None or origin == f"{request.scheme}://{request.host}"

    async def _body(self, request: web.Request) -> dict[str, Any] | None:
        if request.content_type != "application/json" or not self._same_origin(request):
            return None
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            return None
        return body if isinstance(body, dict) else None

    async def _session(self, request: web.Request) -> web.Response:
        session = self.sessions.get(request.cookies.get(COOKIE))
        if session is None:
            return _json({"logged_in": False, "keyring": self.keyring is not None})
        sender = session.sender
        return _json(
            {"logged_in": True, "id": sender.id, "role": role_name(sender.role), "csrf": session.csrf_token}
        )

    async def _login(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if body is None:
            return _json({"error": "expected a JSON object from this page"}, 400)
        if self.keyring is None:
            return _json({"error": "no operator keyring on this box: the view is read-only"}, 403)
        if self.limiter.blocked():
            self.counters["logins_throttled"] += 1
            return _json({"error": "too many failed logins: wait a minute"}, 429)
        sender_id, secret = body.get("id"), body.get("secret")
        sender = None
        if isinstance(sender_id, str) and isinstance(secret, str) and 0 < len(sender_id) <= 100:
            sender = self.keyring.check_secret(sender_id, secret)
        if sender is None:
            self.limiter.failed()
            self.counters["logins_failed"] += 1
            log.warning("operator view: failed login for %r", str(sender_id)[:100])
            return _json({"error": "unknown operator or wrong secret"}, 401)
        session = self.sessions.open(sender)
        self.counters["logins"] += 1
        log.info("operator view: %s (%s) logged in", sender.id, role_name(sender.role))
        response = _json({"id": sender.id, "role": role_name(sender.role), "csrf": session.csrf_token})
        response.set_cookie(
            COOKIE,
            session.session_id,
            httponly=True,
            samesite="Strict",
            path="/",
            max_age=int(self.config.session_max_age_s),
        )
        return response

    async def _logout(self, request: web.Request) -> web.Response:
        if self._same_origin(request):
            self.sessions.close(request.cookies.get(COOKIE))
        response = _json({"logged_in": False})
        response.del_cookie(COOKIE, path="/")
        return response

    async def _action(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        session = self.sessions.authorise(request.cookies.get(COOKIE), request.headers.get("X-CSRF-Token"))
        if session is None:
            self.counters["actions_refused"] += 1
            log.warning("operator view: %s refused: not logged in (or no CSRF token)", name)
            return _json({"ok": False, "error": "log in first (operator or physicist)"}, 401)
        body = await self._body(request)
        if body is None:
            self.counters["actions_refused"] += 1
            return _json({"ok": False, "error": "expected a JSON object from this page"}, 400)
        result = submit_action(self.path, name, body, session.sender)
        self.counters["actions"] += 1
        self.feed.poke()  # the page sees the effect at once
        return _json(result, 200 if result.get("ok") else 409)
