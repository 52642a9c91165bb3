"""Who is signed in to the console, and the form token that every form carries.

- The session is the bearer token itself, kept in an HttpOnly, SameSite=Lax
  cookie and checked by the API's own :class:`~starter.api.auth.TokenVerifier`
  on every request: the console trusts nothing the API would not.
- CSRF: every visitor has a random ``unbind_csrf`` cookie; each form carries
  ``HMAC(process key, that cookie + session)`` in a hidden field. A cross-site
  page can neither read the cookie nor compute the token, and a token is worth
  nothing once the session changes (signing in or out makes a new cookie).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request
from starlette.responses import Response

from starter.api.auth import Principal, TokenVerifier, Unauthenticated

SESSION_COOKIE = "unbind_session"
CSRF_COOKIE = "unbind_csrf"
CSRF_FIELD = "csrf_token"
COOKIE_MAX_AGE = 12 * 3600
"""As long as a development token lives; an identity provider's token may expire sooner."""


class FormRefused(Exception):
    """A form posted without this console's token for this session (CSRF)."""


class Sessions:
    """One per process: the key form tokens are made with. A restarted API
    refuses the forms of pages the one before rendered: reload and try again."""

    def __init__(self, verifier: TokenVerifier) -> None:
        self.verifier = verifier
        self._key = secrets.token_bytes(32)

    async def principal(self, request: Request) -> Principal | None:
        """The signed-in caller; None without a session. A session whose
        token no longer passes raises :class:`Unauthenticated`."""
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        principal = await self.verifier.principal(f"Bearer {token}")
        request.state.principal = principal
        return principal

    def form_token(self, request: Request) -> str:
        """The hidden field's value for this visitor's session."""
        return self._token(_csrf_cookie(request), request.cookies.get(SESSION_COOKIE) or "")

    def check_form(self, request: Request, sent: object) -> None:
        cookie = request.cookies.get(CSRF_COOKIE)
        expected = self._token(cookie, request.cookies.get(SESSION_COOKIE) or "") if cookie else ""
        if not (expected and isinstance(sent, str) and hmac.compare_digest(sent, expected)):
            raise FormRefused()

    def _token(self, csrf: str, session: str) -> str:
        message = f"{csrf}\0{session}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


def _csrf_cookie(request: Request) -> str:
    """This visitor's CSRF cookie: the one it sent, or a new one that
    :func:`keep_csrf_cookie` sets on the answer."""
    value = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not value:
        value = secrets.token_urlsafe(32)
        request.state.new_csrf = value
    return str(value)


def keep_csrf_cookie(request: Request, response: Response) -> None:
    new = getattr(request.state, "new_csrf", None)
    if new:
        _set(request, response, CSRF_COOKIE, new)


def start_session(request: Request, response: Response, token: str) -> None:
    """Signed in: the token in its cookie, and a fresh CSRF cookie (forms
    rendered before no longer pass)."""
    _set(request, response, SESSION_COOKIE, token)
    _set(request, response, CSRF_COOKIE, secrets.token_urlsafe(32))


def end_session(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    _set(request, response, CSRF_COOKIE, secrets.token_urlsafe(32))


def _set(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        max_age=COOKIE_MAX_AGE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


__all__ = ["FormRefused", "Sessions", "Unauthenticated"]
