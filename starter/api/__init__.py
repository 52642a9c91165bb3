"""The HTTP API (``unbind-api``) over :class:`~starter.client.UnbindingClient`
and the partner center (docs/HTTP_API.md).

- ``app``: the FastAPI app, ``api_client()`` (the one client), ``/healthz``
- ``settings``: the environment, checked
- ``auth``: bearer tokens → :class:`~starter.api.auth.Principal`
- ``devkeys``: the development key pair and tokens (``unbind token``)
- ``visibility``: who sees what, what waits for whom
- ``applications``: submit, list, read
- ``actions``: one route per row of ``workflows.actions.ACTIONS``
- ``me``: messages, worklist, the audit log
- ``problems``: problem+json errors, refusals written to ``audit_refusals``
- ``deps``: services, the caller, client errors as problems
"""
