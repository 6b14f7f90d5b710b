"""Who may read the lake browser: anyone on this machine by default; with a token
(``AGROLAKE_UI_TOKEN``, required to listen beyond loopback), only requests that
bring it, as ``Authorization: Bearer <token>`` or the cookie the login form sets.

Tokens are compared in constant time; the cookie holds an HMAC of the token, not
the token, and is HttpOnly and SameSite=Strict."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from urllib.parse import parse_qs, quote

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "agrolake_ui"
OPEN_PATHS = ("/login", "/static/")
MAX_FORM_BYTES = 4096


def is_loopback(host: str) -> bool:
    """Whether listening on ``host`` keeps the browser to this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def session_value(token: str) -> str:
    """What the cookie holds: stealing it does not reveal the token."""
    return hmac.new(token.encode(), b"agrolake-ui-session", hashlib.sha256).hexdigest()


def allowed(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and given and same(given.strip(), token):
        return True
    cookie = request.cookies.get(COOKIE)
    return cookie is not None and same(cookie, session_value(token))


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path of this site only (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def form_field(request: Request, name: str) -> str | None:
    """One field of a small urlencoded form (no multipart parser needed)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    values = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return values.get(name, [None])[0]


def login_response(token: str, target: str) -> Response:
    response = RedirectResponse(safe_next(target), status_code=303)
    response.set_cookie(COOKIE, session_value(token), httponly=True, samesite="strict", path="/")
    return response


class TokenGate:
    """ASGI middleware: without the token, JSON routes answer 401 and pages redirect to
    the login form."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.token is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path = request.url.path
        if path.startswith(OPEN_PATHS) or allowed(request, self.token):
            await self.app(scope, receive, send)
            return
        response: Response
        if path.startswith("/api/"):
            response = JSONResponse(
                {"error": "this lake browser needs its token (Authorization: Bearer …)"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        else:
            target = path + (f"?{request.url.query}" if request.url.query else "")
            response = RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        await response(scope, receive, send)
