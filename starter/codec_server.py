"""``python -m starter.codec_server``: the codec server the Temporal Web UI
(and ``temporal --codec-endpoint``) decodes encrypted payloads through, so
operators read applications in the clear while the Temporal service and its
database hold only ciphertext.

It speaks Temporal's codec server protocol: ``POST /decode`` and ``POST
/encode`` take and answer ``{"payloads": [...]}`` (payloads in protobuf JSON),
also under a namespace prefix (``/default/decode``, the CLI's templating). The
browser calls it cross-origin, so it answers CORS preflights for the Web UI's
origins.

Environment:

- ``UNBIND_PAYLOAD_KEYS`` (required): the keys every worker uses.
- ``UNBIND_CODEC_ADDRESS`` (``127.0.0.1:8081``): where it listens.
- ``UNBIND_CODEC_CORS_ORIGINS`` (``http://127.0.0.1:8233,http://localhost:8233``):
  the Web UI's origins, comma-separated.
- ``UNBIND_CODEC_REQUIRE_OPERATOR`` (``0``): with ``1``, every request needs an
  operator's bearer token, checked as the HTTP API checks it (its
  ``UNBIND_API_*`` key settings); turn on the Web UI's "pass access token".

Whoever reaches it can decrypt: keep it on loopback or behind the operators'
authentication. Exit 2 on a configuration mistake.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.api.common.v1 import Payloads
from temporalio.converter import PayloadCodec

from starter.api.auth import TokenVerifier, Unauthenticated
from starter.api.settings import ApiSettings
from starter.errors import BadConfiguration, UnbindError
from starter.payload_codec import KEYS_VARIABLE, UndecryptablePayload, payload_codec_from_env

ADDRESS_VARIABLE: Final = "UNBIND_CODEC_ADDRESS"
ORIGINS_VARIABLE: Final = "UNBIND_CODEC_CORS_ORIGINS"
OPERATOR_VARIABLE: Final = "UNBIND_CODEC_REQUIRE_OPERATOR"
DEFAULT_ADDRESS: Final = "127.0.0.1:8081"
DEFAULT_ORIGINS: Final = ("http://127.0.0.1:8233", "http://localhost:8233")
# What the Web UI sends: its namespace, and a token when told to pass one.
REQUEST_HEADERS: Final = ["Content-Type", "X-Namespace", "Authorization"]


class Guard:
    """Who may use the codec server; the default lets every caller in."""

    async def refusal(self, request: Request) -> Response | None:
        return None


class OperatorGuard(Guard):
    """Operators only, by the HTTP API's bearer tokens."""

    def __init__(self) -> None:
        # The API's settings and verifier: one place knows the token rules.
        self._verifier = TokenVerifier(ApiSettings.from_env())

    async def refusal(self, request: Request) -> Response | None:
        try:
            principal = await self._verifier.principal(request.headers.get("authorization"))
        except Unauthenticated as error:
            return JSONResponse({"detail": str(error)}, status_code=401)
        if not principal.is_operator:
            return JSONResponse({"detail": "operators only"}, status_code=403)
        return None


def create_codec_app(
    codec: PayloadCodec, *, origins: Sequence[str], guard: Guard | None = None
) -> Starlette:
    """The codec server's routes for ``codec``, callable from ``origins``."""
    guard = guard or Guard()

    async def decode(request: Request) -> Response:
        return await _convert(request, encode=False)

    async def encode(request: Request) -> Response:
        return await _convert(request, encode=True)

    async def _convert(request: Request, *, encode: bool) -> Response:
        refused = await guard.refusal(request)
        if refused is not None:
            return refused
        try:
            payloads = json_format.Parse(await request.body(), Payloads())
        except json_format.ParseError as error:
            return JSONResponse(
                {"detail": f'expected {{"payloads": [...]}} in protobuf JSON: {error}'},
                status_code=400,
            )
        try:
            converted = await (codec.encode if encode else codec.decode)(payloads.payloads)
        except UndecryptablePayload as error:
            return JSONResponse({"detail": str(error)}, status_code=422)
        body = json_format.MessageToJson(Payloads(payloads=converted))
        return Response(body, media_type="application/json")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/decode", decode, methods=["POST"]),
        Route("/encode", encode, methods=["POST"]),
        Route("/{namespace}/decode", decode, methods=["POST"]),
        Route("/{namespace}/encode", encode, methods=["POST"]),
    ]
    cors = Middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=["POST"],
        allow_headers=REQUEST_HEADERS,
        # The Web UI's "include cross-origin credentials" option.
        allow_credentials=True,
    )
    return Starlette(routes=routes, middleware=[cors])


@dataclass(frozen=True)
class CodecServerSettings:
    host: str
    port: int
    origins: tuple[str, ...]
    require_operator: bool

    @classmethod
    def from_env(cls) -> CodecServerSettings:
        given = os.environ.get(ADDRESS_VARIABLE) or DEFAULT_ADDRESS
        host, _, port = given.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise BadConfiguration(ADDRESS_VARIABLE, f"expected HOST:PORT, got {given!r}")
        origins = tuple(
            o.strip().rstrip("/") for o in os.environ.get(ORIGINS_VARIABLE, "").split(",")
        )
        origins = tuple(o for o in origins if o) or DEFAULT_ORIGINS
        for origin in origins:
            if not origin.startswith(("http://", "https://")):
                raise BadConfiguration(
                    ORIGINS_VARIABLE, f"expected http(s)://HOST[:PORT] origins, got {origin!r}"
                )
        flag = os.environ.get(OPERATOR_VARIABLE, "").strip().lower()
        if flag not in {"", "0", "1"}:
            raise BadConfiguration(OPERATOR_VARIABLE, f"expected 1 or 0, got {flag!r}")
        return cls(
            host=host.strip("[]"), port=int(port), origins=origins, require_operator=flag == "1"
        )


def build_app() -> tuple[Starlette, CodecServerSettings]:
    """The app and its settings, from the environment (all checked first)."""
    settings = CodecServerSettings.from_env()
    codec = payload_codec_from_env()
    if codec.encrypting_kid is None:
        raise BadConfiguration(
            KEYS_VARIABLE, "the codec server needs the keys the workers encrypt with"
        )
    guard = OperatorGuard() if settings.require_operator else Guard()
    return create_codec_app(codec, origins=settings.origins, guard=guard), settings


def main() -> None:
    import uvicorn

    try:
        app, settings = build_app()
    except UnbindError as error:
        print(f"codec server: {error.message}", file=sys.stderr)
        sys.exit(error.exit_code)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
