"""The console's pages (GET) and sign-in; the forms that act are in
:mod:`starter.console.forms`."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from activities.sql.demo import (
    DEMO_DISTRIBUTOR,
    DEMO_RESELLER,
    DEMO_SECOND_LEVEL_RESELLER,
    DEMO_SUBUSER,
)
from starter.api.applications import (
    MAX_PAGE_SIZE,
    ApplicationView,
    list_applications,
    visible_application,
)
from starter.api.auth import Principal, Unauthenticated
from starter.api.deps import in_database
from starter.api.devkeys import issue_dev_token
from starter.api.evidence import visible_evidence
from starter.api.me import my_messages, my_worklist
from starter.api.problems import ApiProblem
from starter.api.visibility import awaited_actions, roles_of
from starter.console.notice import ACKNOWLEDGEMENT, NOTICE_INTRO, NOTICE_ITEMS
from starter.console.party import Party, customers_with_eligibility, party_of
from starter.console.session import CSRF_FIELD, end_session, start_session
from starter.console.view import ConsoleRoute, console_of, render, see_other, services_of
from starter.console.words import TRANSIENT, WAITS_FOR
from starter.evidence import tables
from workflows.actions import ACTIONS
from workflows.fields import UIN_PATTERN
from workflows.model import TERMINAL_STATUSES, ActionKind, Effective, UnbindStatus

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

DEMO_PARTNERS = (
    (DEMO_DISTRIBUTOR, "the distributor"),
    (DEMO_RESELLER, "a reseller"),
    (DEMO_SECOND_LEVEL_RESELLER, "a second-level reseller"),
    (DEMO_SUBUSER, "a sub-user of the reseller"),
)
PAGE_SIZE = 50
DEMO_CUSTOMERS_SHOWN = 12
"""Per demo partner; a ledger many demo runs old has more (type their UIN)."""
CsrfField = Annotated[str | None, Form(alias=CSRF_FIELD)]


async def signed_in(request: Request) -> tuple[Principal, Party]:
    """The caller and its pages; a visitor without a session is sent to sign in."""
    principal = await console_of(request).sessions.principal(request)
    if principal is None:
        raise Unauthenticated("sign in first")
    party = await in_database(party_of, services_of(request).partner_center, principal)
    return principal, party


# ---- sign-in -----------------------------------------------------------------


@router.get("/")
async def home(request: Request) -> Response:
    principal, party = await signed_in(request)
    services = services_of(request)
    worklist = await my_worklist(principal, services)
    return render(request, "home.html", principal, party=party, worklist=worklist)


@router.get("/sign-in")
async def sign_in_page(request: Request) -> Response:
    demo_accounts: list[tuple[str, str]] = []
    if console_of(request).dev_tokens:
        pc = services_of(request).partner_center
        records = await in_database(pc.records)
        waiting = {r.customer_uin for r in records if r.status not in TERMINAL_STATUSES}
        for uin, who in DEMO_PARTNERS:
            if await in_database(pc.account, uin) is None:
                continue
            demo_accounts.append((uin, who))
            # The customers whose application is open first: the demo left them so.
            customers = sorted(
                (c for c, _ in await in_database(pc.customers_of, uin)),
                key=lambda c: (c not in waiting, c),
            )
            for customer in customers[:DEMO_CUSTOMERS_SHOWN]:
                open_note = ", application open" if customer in waiting else ""
                demo_accounts.append((customer, f"a customer of {uin}{open_note}"))
    return render(request, "sign_in.html", None, demo_accounts=demo_accounts)


@router.post("/sign-in")
async def sign_in(
    request: Request, account: Annotated[str, Form()] = "", csrf: CsrfField = None
) -> Response:
    """Demo sign-in: a development token for an account in the ledger (its
    owner named when it is a sub-user)."""
    console = console_of(request)
    console.sessions.check_form(request, csrf)
    if not console.dev_tokens:
        raise ApiProblem(
            403, "demo sign-in is off", allowed="sign in with your identity provider's token"
        )
    account = account.strip()
    snapshot = (
        await in_database(services_of(request).partner_center.account, account)
        if re.fullmatch(UIN_PATTERN, account)
        else None
    )
    if snapshot is None:
        raise ApiProblem(
            422,
            f"no account {account!r}",
            errors=[{"field": "Account UIN", "rule": "must be an account of the ledger"}],
        )
    token = issue_dev_token(account=account, owner=snapshot.owner_uin)
    response = see_other("/")
    start_session(request, response, token)
    return response


@router.post("/sign-in/token")
async def sign_in_with_token(
    request: Request, token: Annotated[str, Form()] = "", csrf: CsrfField = None
) -> Response:
    """Behind an identity provider: its token, checked like every API call."""
    console = console_of(request)
    console.sessions.check_form(request, csrf)
    await console.sessions.verifier.principal(f"Bearer {token.strip()}")
    response = see_other("/")
    start_session(request, response, token.strip())
    return response


@router.post("/sign-out")
async def sign_out(request: Request, csrf: CsrfField = None) -> Response:
    console_of(request).sessions.check_form(request, csrf)
    response = see_other("/sign-in")
    end_session(request, response)
    return response


# ---- the reseller's pages -------------------------------------------------------


@router.get("/customers")
async def customers(request: Request) -> Response:
    """Partner Center > Customer Management: each customer with what would fail."""
    principal, party = await signed_in(request)
    found = await in_database(
        customers_with_eligibility, services_of(request).partner_center, principal
    )
    return render(request, "customers.html", principal, party=party, customers=found)


@router.get("/customers/{customer_uin}/unbind")
async def notice(request: Request, customer_uin: str) -> Response:
    principal, party = await signed_in(request)
    found = await in_database(
        customers_with_eligibility, services_of(request).partner_center, principal
    )
    customer = next((c for c in found if c.uin == customer_uin), None)
    if customer is None:
        raise ApiProblem(404, f"no customer {customer_uin} of yours")
    return render(
        request,
        "notice.html",
        principal,
        party=party,
        customer=customer,
        intro=NOTICE_INTRO,
        items=NOTICE_ITEMS,
        acknowledgement=ACKNOWLEDGEMENT,
        E=Effective,
    )


@router.get("/applications")
async def unbinding_customers(
    request: Request,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
    page_token: str | None = None,
) -> Response:
    """Unbinding Customers: every application the caller may see, newest
    first, a page at a time (the API's sealed page tokens)."""
    principal, party = await signed_in(request)
    page = await list_applications(
        principal,
        services_of(request),
        status=None,
        reseller=None,
        distributor=None,
        customer=None,
        deadline_before=None,
        page_size=page_size,
        page_token=page_token,
    )
    withdraw = ACTIONS[ActionKind.WITHDRAW]
    rows = [
        (
            summary,
            WAITS_FOR.get(summary.status) if summary.status else None,
            summary.status in withdraw.accepted_in and summary.reseller_uin == principal.actor,
        )
        for summary in page.applications
    ]
    following = (
        f"?{urlencode({'page_size': page_size, 'page_token': page.next_page_token})}"
        if page.next_page_token
        else None
    )
    return render(
        request, "applications.html", principal, party=party, rows=rows, following=following
    )


@router.get("/reviews")
async def reviews(request: Request) -> Response:
    """The distributor's review queue, soonest deadline first."""
    return await _review_queue(
        request,
        ActionKind.REVIEW,
        title="Review queue",
        intro="Applications of your second-level resellers that wait for your review, "
        "soonest deadline first.",
        link_words="Review the application for",
    )


@router.get("/reseller-reviews")
async def reseller_reviews(request: Request) -> Response:
    """The reseller's queue: its customers' own requests to leave, soonest
    deadline first (like the distributor's review queue)."""
    return await _review_queue(
        request,
        ActionKind.RESELLER_REVIEW,
        title="Customers' requests to leave",
        intro="Your customers' own requests to leave you, waiting for your review, "
        "soonest deadline first.",
        link_words="Review the request of",
    )


async def _review_queue(
    request: Request, kind: ActionKind, *, title: str, intro: str, link_words: str
) -> Response:
    principal, party = await signed_in(request)
    items = [
        item for item in await my_worklist(principal, services_of(request)) if kind in item.actions
    ]
    return render(
        request,
        "reviews.html",
        principal,
        party=party,
        items=items,
        title=title,
        intro=intro,
        link_words=link_words,
    )


def actions_of(principal: Principal, state: ApplicationView) -> list[ActionKind]:
    """What the caller may do now: what the application waits for from it,
    and withdrawing while that is allowed."""
    roles = roles_of(state)
    actions = awaited_actions(principal, state.status, roles)
    withdraw = ACTIONS[ActionKind.WITHDRAW]
    if state.status in withdraw.accepted_in and withdraw.may_act(principal.actor, roles):
        actions.append(ActionKind.WITHDRAW)
    return actions


@router.get("/applications/{customer_uin}/evidence")
async def evidence_page(request: Request, customer_uin: str) -> Response:
    """The application's consent evidence (``GET .../evidence``), readable:
    for its parties only, the same 404 for anyone else."""
    principal, party = await signed_in(request)
    data = await visible_evidence(customer_uin, principal, services_of(request))
    return render(
        request, "evidence.html", principal, party=party, evidence=data, tables=tables(data)
    )


@router.get("/applications/{customer_uin}")
async def application(request: Request, customer_uin: str) -> Response:
    principal, party = await signed_in(request)
    state = await visible_application(customer_uin, principal, services_of(request))
    actions = actions_of(principal, state)
    return render(
        request,
        "application.html",
        principal,
        party=party,
        state=state,
        actions=actions,
        waits_for=WAITS_FOR.get(state.status),
        refresh=state.status in TRANSIENT,
        web_ui_link=console_of(request).workflow_link(request, state.workflow_id),
    )


# ---- the customer's and everyone's pages ------------------------------------------


@router.get("/account")
async def account(request: Request) -> Response:
    """Expense Center > Account Information: the customer's latest application."""
    principal, party = await signed_in(request)
    try:
        state = await visible_application(principal.sub, principal, services_of(request))
    except ApiProblem as problem:
        if problem.status != 404:
            raise
        state = None
    return render(
        request,
        "account.html",
        principal,
        party=party,
        state=state,
        actions=actions_of(principal, state) if state else [],
        may_request=party.is_customer and (state is None or state.status.is_terminal),
        refresh=state is not None and state.status in TRANSIENT,
        S=UnbindStatus,
        web_ui_link=console_of(request).workflow_link(request, state.workflow_id)
        if state
        else None,
    )


@router.get("/account/request")
async def request_page(request: Request) -> Response:
    """Request to leave my reseller: the request text the customer
    acknowledges (its hash is recorded), and when the cutover takes effect."""
    principal, party = await signed_in(request)
    return render(request, "request.html", principal, party=party, E=Effective)


@router.get("/messages")
async def messages(request: Request) -> Response:
    principal, party = await signed_in(request)
    found = await my_messages(principal, services_of(request))
    return render(request, "messages.html", principal, party=party, messages=found)
