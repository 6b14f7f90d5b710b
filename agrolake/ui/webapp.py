"""The lake browser: a read-only Starlette application over the lake's answers.

Every page is a view (``agrolake.ui.views``) rendered by a Jinja2 template, and the
same data is JSON under ``/api/…``. No page runs SQL a visitor typed, nothing is
written, every value is escaped by the templates (autoescape) or the SVG builders.
Pages carry a content security policy that allows no script at all: there is none.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agrolake.answers.registered_models import mlflow_ui
from agrolake.errors import AgrolakeError, UsageError
from agrolake.lake import Lake
from agrolake.lake.tables import NO_LONGER_READABLE
from agrolake.ui import access, formatting, params, svg_charts, svg_graph, views
from agrolake.ui.downloads import as_csv, as_parquet
from agrolake.ui.snapshots import BrowsedLake
from agrolake.ui.views import View

log = logging.getLogger("agrolake.ui")
HERE = Path(__file__).parent
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


class LakeJSON(JSONResponse):
    """JSON as the CLI prints it: dates as ISO text, accents as they are."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, default=_json_default).encode()


def templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        fmt=formatting.format_value,
        kind=formatting.kind_of,
        moment=formatting.format_moment,
        size=formatting.format_bytes,
        pretty_json=formatting.pretty_json,
        rounded=formatting.rounded,
    )
    env.globals.update(
        link=params.link,
        api_path=params.api_path,
        table_link=params.table_link,
        node_link=params.node_link,
        lineage_svg=svg_graph.lineage_svg,
        weather_chart=svg_charts.weather_chart,
        ndvi_chart=svg_charts.ndvi_chart,
    )
    return env


class Browser:
    """The application's state: the lake it reads and the templates it renders."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.env = templates()
        self.mlflow_ui = mlflow_ui(lake)

    def render(self, template: str, code: int = 200, **context: Any) -> HTMLResponse:
        page = self.env.get_template(template).render(mlflow_ui=self.mlflow_ui, **context)
        return HTMLResponse(page, status_code=code)

    async def data(self, view: View, request: Request) -> Any:
        # The answers are blocking (catalog, Delta, S3): off the event loop.
        return await run_in_threadpool(view, self.lake, request)

    def page(self, view: View, template: str) -> Any:
        async def endpoint(request: Request) -> Response:
            return self.render(template, data=await self.data(view, request), request=request)

        return endpoint

    def api(self, view: View) -> Any:
        async def endpoint(request: Request) -> Response:
            return LakeJSON(await self.data(view, request))

        return endpoint

    def download(self, view: View, stem: str | Callable[[Request], str]) -> Any:
        async def endpoint(request: Request) -> Response:
            kind = request.path_params["format"]
            if kind not in ("csv", "parquet"):
                raise HTTPException(404, f"downloads are .csv or .parquet, not .{kind}")
            rows = await self.data(view, request)
            name = f"{stem(request) if callable(stem) else stem}.{kind}"
            if kind == "csv":
                body, media = as_csv(rows), "text/csv; charset=utf-8"
            else:
                body, media = as_parquet(rows), "application/vnd.apache.parquet"
            disposition = f'attachment; filename="{name.replace(chr(34), "")}"'
            return Response(body, media_type=media, headers={"content-disposition": disposition})

        return endpoint

    def error(self, request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return LakeJSON({"error": message}, status_code=status)
        return self.render("error.html", status, status=status, message=message, request=request)


def _routes(browser: Browser) -> list[Route | Mount]:
    from agrolake.ui import download_views

    pages = [
        ("/", views.home, "overview.html", "/api/overview"),
        ("/datasets", views.datasets, "datasets.html", "/api/datasets"),
        ("/datasets/{dataset_id}", views.dataset, "dataset.html", "/api/datasets/{dataset_id}"),
        ("/tables/{name}", views.table, "table.html", "/api/tables/{name}"),
        ("/invalid", views.invalid, "invalid.html", "/api/invalid"),
        ("/quarantine", views.quarantine, "quarantine.html", "/api/quarantine"),
        ("/lineage", views.lineage_graph_view, "lineage.html", "/api/lineage/graph"),
        ("/models", views.models, "models.html", "/api/models"),
        ("/twin", views.twin_list, "twin_list.html", "/api/twin"),
        ("/twin/{enclosure_id}", views.twin, "twin.html", "/api/twin/{enclosure_id}"),
        ("/quality", views.quality, "quality.html", "/api/quality"),
        ("/ingests/{ingest_id}", views.ingest, "ingest.html", "/api/ingests/{ingest_id}"),
    ]
    routes: list[Route | Mount] = [
        Route("/api/status", browser.api(views.status)),
        Route("/api/lineage", browser.api(views.lineage)),
        Route(
            "/tables/{name}/preview.{format:str}",
            browser.download(download_views.preview, download_views.preview_name),
        ),
        Route(
            "/quarantine/rows.{format:str}",
            browser.download(download_views.quarantine, "quarantine"),
        ),
        Route("/login", _login_page(browser), methods=["GET", "POST"]),
        Route("/logout", _logout, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    for path, view, template, api_path in pages:
        routes.append(Route(path, browser.page(view, template)))
        routes.append(Route(api_path, browser.api(view)))
    return routes


def _login_page(browser: Browser) -> Any:
    async def endpoint(request: Request) -> Response:
        token = browser.lake.settings.ui_token
        target = access.safe_next(request.query_params.get("next"))
        if token is None:
            return browser.render(
                "login.html", message="this browser needs no token", request=request, target=target
            )
        if request.method == "GET":
            return browser.render("login.html", request=request, target=target)
        given = await access.form_field(request, "token")
        if given is not None and access.same(given, token.get_secret_value()):
            return access.login_response(token.get_secret_value(), target)
        return browser.render(
            "login.html", 401, message="wrong token", request=request, target=target
        )

    return endpoint


async def _logout(request: Request) -> Response:
    from starlette.responses import RedirectResponse

    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(access.COOKIE, path="/")
    return response


class SecurityHeaders:
    """Adds the security headers to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                present = {k.lower() for k, _ in message["headers"]}
                for name, value in SECURITY_HEADERS.items():
                    if name.encode() not in present:
                        message["headers"].append((name.encode(), value.encode()))
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(lake: Lake) -> Starlette:
    """The lake browser over ``lake`` (its settings decide whether a token is needed)."""
    browser = Browser(lake if isinstance(lake, BrowsedLake) else BrowsedLake(lake.settings))
    token = lake.settings.ui_token

    async def not_found(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            return browser.error(request, exc.status_code, str(exc.detail))
        return browser.error(request, 404, "no such page")

    async def usage(request: Request, exc: Exception) -> Response:
        message = exc.message if isinstance(exc, AgrolakeError) else str(exc)
        return browser.error(request, 404, message)

    async def bad(request: Request, exc: Exception) -> Response:
        return browser.error(request, 400, str(exc))

    async def unavailable(request: Request, exc: Exception) -> Response:
        message = exc.message if isinstance(exc, AgrolakeError) else str(exc)
        return browser.error(request, 503, f"the lake did not answer: {message}")

    async def gone(request: Request, exc: Exception) -> Response:
        # A page of an old table version whose files maintenance removed.
        version = request.query_params.get("version", "")
        what = f"version {version}" if version else "a version this page reads"
        return browser.error(request, 410, f"{what} {NO_LONGER_READABLE}")

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path, exc_info=exc)
        return browser.error(request, 500, f"unexpected {type(exc).__name__}; see the server log")

    return Starlette(
        routes=_routes(browser),
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(access.TokenGate, token=token.get_secret_value() if token else None),
        ],
        exception_handlers={
            HTTPException: not_found,
            UsageError: usage,
            params.BadParameter: bad,
            AgrolakeError: unavailable,
            FileNotFoundError: gone,
            Exception: unexpected,
        },
    )


def serve(lake: Lake, host: str, port: int) -> None:
    """Run the browser with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(lake), host=host, port=port, log_level="warning", access_log=False)
