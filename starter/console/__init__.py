"""The web console: the help page's pages for resellers, distributors and
customers, server-rendered from ``templates/`` and mounted on the HTTP API
(``/console``). Every action goes through the API's own functions."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse

from starter.api.auth import TokenVerifier
from starter.console import forms, pages
from starter.console.session import Sessions
from starter.console.view import HERE, PREFIX, Console, web_ui_from_env


def install(app: FastAPI, verifier: TokenVerifier, *, dev_tokens: bool) -> None:
    app.state.console = Console(Sessions(verifier), dev_tokens, web_ui_from_env())
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="console-static")
    app.include_router(pages.router, prefix=PREFIX)
    app.include_router(forms.router, prefix=PREFIX)

    @app.get(PREFIX, include_in_schema=False)
    async def console_root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=307)
