"""The web console in a real browser: the people of the help page click
through it, each in a browser context of their own, against the live stack
(tests/browser/console_stack.py). Every page visited is checked with
axe-core (no serious or critical violation) and photographed into
docs/images/ for docs/CONSOLE.md."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, expect

from activities.sql import SqlPartnerCenter
from activities.sql.demo import DEMO_RESELLER, DEMO_SUBUSER
from starter.api.devkeys import dev_key_pair, issue_dev_token
from starter.console.notice import NOTICE_ITEMS
from starter.console.view import when
from tests.browser.console_stack import (
    ConsoleStack,
    Parties,
    Person,
    console_stack,
    parties,
    people,
)
from tests.conftest import eventually
from workflows.notice import CURRENT, Consent
from workflows.rules import end_of_billing_month

pytestmark = pytest.mark.browser
__all__ = ["console_stack", "parties", "people"]  # fixtures, used by name


async def status_is(page: Page, status: str) -> None:
    """The application page or account page shows this status (pages in a
    moving status refresh themselves)."""
    await expect(page.get_by_test_id("status")).to_have_attribute("data-status", status)


async def submit_from_notice(
    reseller: Person, customer: str, *, shot: str = "", end_of_month: bool = False
) -> None:
    """Customer Management → Unbind Reselling Relationship → the notice, ticked → Submit."""
    await reseller.go("/customers")
    await reseller.page.get_by_role(
        "link", name=f"Unbind Reselling Relationship with {customer}"
    ).click()
    await expect(reseller.page.get_by_role("heading", name="Unbinding Notice")).to_be_visible()
    if shot:
        for item in NOTICE_ITEMS:  # the help page's words, each in full
            await expect(reseller.page.get_by_text(item, exact=True)).to_be_visible()
        await reseller.check(shot)
    await reseller.page.get_by_label("I have read and understood the above notice").check()
    if end_of_month:
        await reseller.page.get_by_label("At the end of the billing month").check()
    await reseller.page.get_by_role("button", name="Submit Application").click()


async def until_listed(person: Person, path: str, found: Callable[[], Awaitable[bool]]) -> None:
    """Reload a list page until it shows what is expected (the list view of
    Temporal catches up within moments)."""

    async def probe() -> bool:
        await person.go(path)
        return await found()

    assert await eventually(probe, lambda ok: ok), f"{path} never showed it"


async def test_the_second_level_path_from_the_notice_to_completed(
    console_stack: ConsoleStack, parties: Parties, people: list[Person]
) -> None:
    reseller, distributor, customer = people
    pc = console_stack.partner_center

    await reseller.go("/")
    await expect(reseller.page.get_by_role("heading", name="Sign in")).to_be_visible()
    await reseller.check("sign-in")
    pc.set_account(parties.second_customer, frozen=True)
    await reseller.sign_in(parties.reseller)
    await reseller.go("/customers")
    await expect(reseller.page.locator(f"#customer-{parties.customer}")).to_contain_text(
        "Ready to unbind"
    )
    # Before submitting, each failed check with its hint.
    await expect(reseller.page.locator(f"#customer-{parties.second_customer}")).to_contain_text(
        "Account not frozen (account_frozen): unfreeze the customer account first"
    )
    await reseller.check("customer-management")
    await submit_from_notice(reseller, parties.customer, shot="notice")
    await status_is(reseller.page, "PENDING_DISTRIBUTOR_REVIEW")
    web_ui = reseller.page.get_by_role("link", name=f"workflow unbind-{parties.customer}")
    await expect(web_ui).to_have_attribute(
        "href", console_stack.web_ui.workflow_page(f"unbind-{parties.customer}")
    )
    await reseller.check("application-submitted")

    await distributor.sign_in(parties.distributor)
    await expect(distributor.page.get_by_role("table")).to_contain_text(parties.customer)
    await distributor.check("waiting-for-you")
    await distributor.go("/reviews")
    await distributor.check("review-queue")
    await distributor.page.get_by_role(
        "link", name=f"Review the application for {parties.customer}"
    ).click()
    await distributor.check("review")
    await distributor.page.get_by_label("Reason for approve").fill("agreed with both sides")
    await distributor.page.get_by_role("button", name="Approve").click()
    await status_is(distributor.page, "PENDING_CUSTOMER_CONFIRMATION")

    await customer.sign_in(parties.customer)
    await customer.go("/account")
    await status_is(customer.page, "PENDING_CUSTOMER_CONFIRMATION")
    await customer.check("account-confirm")
    await customer.page.get_by_role("button", name="Confirm Unbinding").click()
    await status_is(customer.page, "PENDING_CARD_BINDING")
    await customer.check("account-card-binding")
    await customer.page.get_by_role("button", name="Bind a card (demo)").click()
    await status_is(customer.page, "COMPLETED")
    outcome = customer.page.get_by_role("region", name="You are now a direct customer")
    await expect(outcome).to_contain_text(f"billed to reseller {parties.reseller}")
    await customer.check("account-completed")
    assert pc.show(parties.customer)["card_bound"] is True
    assert pc.show(parties.customer)["partner"] is None

    await until_listed(
        reseller,
        "/applications",
        lambda: (
            reseller.page.locator(f"#application-{parties.customer}")
            .filter(has_text="Completed")
            .is_visible()
        ),
    )
    await reseller.check("unbinding-customers")

    # Each sees their own system messages (as the partner center holds them
    # for that account), newest first; a message still on its way shows on reload.
    for person, uin, shot in (
        (reseller, parties.reseller, "messages"),
        (distributor, parties.distributor, ""),
        (customer, parties.customer, ""),
    ):
        shown, inbox = await eventually(
            lambda person=person, uin=uin: _messages(person, pc, uin),
            lambda found: bool(found[0]) and found[0] == found[1],
        )
        assert shown and shown == inbox, (uin, shown, inbox)
        if shot:
            await person.check(shot)

    # Operators follow the application page's link to the workflow in the Web UI.
    workflow_id = f"unbind-{parties.customer}"
    await reseller.go(f"/applications/{parties.customer}")
    await reseller.page.get_by_role("link", name=f"workflow {workflow_id}").click()
    await expect(reseller.page).to_have_url(console_stack.web_ui.workflow_page(workflow_id))
    await expect(reseller.page.get_by_text(workflow_id).first).to_be_visible()


async def _messages(person: Person, pc: SqlPartnerCenter, uin: str) -> tuple[list[str], list[str]]:
    """The subjects the messages page shows, and the account's inbox newest first."""
    await person.go("/messages")
    shown = await person.page.locator(".messages h2").all_inner_texts()
    return shown, [message["subject"] for message in reversed(pc.inbox(uin))]


async def test_a_customer_rejects(
    console_stack: ConsoleStack, parties: Parties, people: list[Person]
) -> None:
    reseller, distributor, customer = people
    await reseller.sign_in(parties.reseller)
    await submit_from_notice(reseller, parties.customer)
    await status_is(reseller.page, "PENDING_DISTRIBUTOR_REVIEW")
    await distributor.sign_in(parties.distributor)
    await distributor.go(f"/applications/{parties.customer}")
    await distributor.page.get_by_role("button", name="Approve").click()
    await status_is(distributor.page, "PENDING_CUSTOMER_CONFIRMATION")

    await customer.sign_in(parties.customer)
    await customer.go("/account")
    await customer.page.get_by_label("Reason").fill("we keep our reseller")
    await customer.page.get_by_role("button", name="Reject Unbinding").click()
    await status_is(customer.page, "CUSTOMER_REJECTED")
    await customer.check("account-rejected")
    await reseller.page.reload()
    await status_is(reseller.page, "CUSTOMER_REJECTED")
    await expect(reseller.page.get_by_role("table")).to_contain_text("we keep our reseller")
    # Nothing changed in the ledger: still the reseller's customer.
    assert console_stack.partner_center.show(parties.customer)["partner"]["uin"] == parties.reseller


async def test_a_reseller_withdraws(
    console_stack: ConsoleStack, parties: Parties, people: list[Person]
) -> None:
    reseller = people[0]
    await reseller.sign_in(parties.reseller)
    await submit_from_notice(reseller, parties.customer)
    await status_is(reseller.page, "PENDING_DISTRIBUTOR_REVIEW")
    await until_listed(
        reseller,
        "/applications",
        lambda: reseller.page.get_by_role(
            "link", name=f"Withdraw the application for {parties.customer}"
        ).is_visible(),
    )
    await reseller.page.get_by_role(
        "link", name=f"Withdraw the application for {parties.customer}"
    ).click()
    await reseller.page.get_by_label("Reason").fill("customer changed its mind")
    await reseller.page.get_by_role("button", name="Withdraw the application").click()
    await status_is(reseller.page, "WITHDRAWN")
    await reseller.check("withdrawn")
    assert console_stack.partner_center.show(parties.customer)["partner"]["uin"] == parties.reseller


async def test_a_sub_user_is_refused_at_submission_with_the_check_named(
    console_stack: ConsoleStack, parties: Parties, people: list[Person]
) -> None:
    sub_user = people[0]
    await sub_user.sign_in(parties.sub_user)
    await sub_user.go("/customers")
    row = sub_user.page.locator(f"#customer-{parties.customer}")
    await expect(row).to_contain_text("root_account")
    await submit_from_notice(sub_user, parties.customer)
    alert = sub_user.page.get_by_role("alert")
    await expect(
        sub_user.page.get_by_role("heading", name="The application was not accepted")
    ).to_be_visible()
    await expect(alert).to_contain_text("Root account")
    await expect(alert).to_contain_text("root_account")
    await expect(alert).to_contain_text("log in with the root account")
    await sub_user.check("refused-sub-user")
    assert console_stack.partner_center.records(parties.customer) == []


async def test_nobody_opens_another_partys_application_by_editing_the_url(
    console_stack: ConsoleStack, parties: Parties, people: list[Person]
) -> None:
    reseller, other_reseller, other_customer = people
    await reseller.sign_in(parties.reseller)
    await submit_from_notice(reseller, parties.customer)
    await status_is(reseller.page, "PENDING_DISTRIBUTOR_REVIEW")

    # Another customer: the same "not found" as for no application at all.
    await other_customer.sign_in(parties.other_customer)
    await other_customer.go(f"/applications/{parties.customer}")
    await expect(other_customer.page.get_by_role("heading", name="Not found")).to_be_visible()
    await other_customer.check("not-found")
    await other_customer.go("/account")
    await expect(other_customer.page.get_by_role("main")).to_contain_text(
        "No unbinding application concerns your account"
    )
    await other_customer.go(f"/customers/{parties.customer}/unbind")
    await expect(other_customer.page.get_by_role("heading", name="Not found")).to_be_visible()

    # Another reseller: not on its list, not by its address either.
    await other_reseller.sign_in(parties.other_reseller)
    await other_reseller.go(f"/applications/{parties.customer}")
    await expect(other_reseller.page.get_by_role("heading", name="Not found")).to_be_visible()
    await other_reseller.go("/applications")
    await expect(other_reseller.page.get_by_role("main")).not_to_contain_text(parties.customer)
    await other_reseller.go(f"/customers/{parties.customer}/unbind")
    await expect(other_reseller.page.get_by_role("heading", name="Not found")).to_be_visible()
    # The refusals are in the audit log like the API's own.
    refusals = console_stack.partner_center.refusals(limit=50)
    assert any(r.principal == parties.other_customer and r.status_code == 404 for r in refusals), (
        refusals
    )


async def test_a_form_without_its_csrf_token_is_refused(
    console_stack: ConsoleStack, parties: Parties, people: list[Person]
) -> None:
    reseller = people[0]
    await reseller.sign_in(parties.reseller)
    await reseller.go(f"/customers/{parties.customer}/unbind")
    await reseller.page.get_by_label("I have read and understood the above notice").check()
    # The page's own form, its hidden token taken out before it is sent.
    await reseller.page.locator('input[name="csrf_token"]').evaluate_all(
        "inputs => inputs.forEach(input => input.remove())"
    )
    await reseller.page.get_by_role("button", name="Submit Application").click()
    await expect(reseller.page.get_by_role("heading", name="This form was refused")).to_be_visible()
    await reseller.check("form-refused")
    # And a token from another session does not pass either.
    forged = await reseller.page.request.post(
        f"{console_stack.url}/customers/{parties.customer}/unbind",
        form={"acknowledge_notice": "yes", "csrf_token": "0" * 64},
    )
    assert forged.status == 403 and "This form was refused" in await forged.text()
    # Every page: no scripts, no framing by another site, never cached.
    assert "script-src" not in forged.headers["content-security-policy"]
    assert "default-src 'none'" in forged.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in forged.headers["content-security-policy"]
    assert forged.headers["cache-control"] == "no-store"
    assert console_stack.partner_center.records(parties.customer) == []
    refusals = console_stack.partner_center.refusals(limit=50)
    assert any(r.principal == parties.reseller and "CSRF" in (r.reason or "") for r in refusals), (
        refusals
    )
    # With its token but the notice not ticked (the browser's own check taken
    # away): refused by the server too, in words naming the notice.
    await reseller.go(f"/customers/{parties.customer}/unbind")
    await reseller.page.get_by_label("I have read and understood the above notice").evaluate(
        "box => box.removeAttribute('required')"
    )
    await reseller.page.get_by_role("button", name="Submit Application").click()
    await expect(
        reseller.page.get_by_role("heading", name="Please correct what you entered")
    ).to_be_visible()
    await expect(reseller.page.get_by_role("alert")).to_contain_text("tick the box")
    assert console_stack.partner_center.records(parties.customer) == []


async def test_keyboard_only_from_sign_in_to_submission(
    console_stack: ConsoleStack, parties: Parties, people: list[Person]
) -> None:
    """Sign in, open the notice, tick it and submit with the keyboard alone."""
    person = people[0]
    page = person.page
    await person.go("/sign-in")
    await person.tab_to(page.get_by_label("Account UIN"))
    await page.keyboard.type(parties.reseller)
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("who")).to_have_text(parties.reseller)
    await person.go("/customers")
    await person.tab_to(
        page.get_by_role("link", name=f"Unbind Reselling Relationship with {parties.customer}")
    )
    await page.keyboard.press("Enter")
    checkbox = page.get_by_label("I have read and understood the above notice")
    await person.tab_to(checkbox)
    await page.keyboard.press("Space")
    await expect(checkbox).to_be_checked()
    await person.tab_to(page.get_by_role("button", name="Submit Application"))
    await page.keyboard.press("Enter")
    await status_is(page, "PENDING_DISTRIBUTOR_REVIEW")


async def test_sign_in_with_an_identity_providers_token(
    console_stack: ConsoleStack, parties: Parties, people: list[Person]
) -> None:
    """The token is checked by the API's verifier: a good one signs in (a
    sub-user keeps its owner), a forged one is refused in plain words."""
    person = people[0]
    keys = dev_key_pair(console_stack.dev_key_dir)
    await person.go("/sign-in")
    await person.page.get_by_label("Access token (JWT)").fill(
        issue_dev_token(account=parties.sub_user, owner=parties.reseller, keys=keys)
    )
    await person.page.get_by_role("button", name="Sign in with the token").click()
    await expect(person.page.get_by_test_id("who")).to_have_text(parties.sub_user)
    await expect(person.page.get_by_role("banner")).to_contain_text(
        f"sub-user of {parties.reseller}"
    )
    await person.page.get_by_role("button", name="Sign out").click()

    forged = issue_dev_token(
        account=parties.reseller, keys=dev_key_pair(console_stack.dev_key_dir / "x")
    )
    await person.page.get_by_label("Access token (JWT)").fill(forged)
    await person.page.get_by_role("button", name="Sign in with the token").click()
    await expect(person.page.get_by_role("heading", name="Please sign in again")).to_be_visible()
    await person.go("/customers")  # still nobody signed in
    await expect(person.page.get_by_role("heading", name="Sign in")).to_be_visible()


async def test_demo_sign_in_by_choosing_an_account(
    console_stack: ConsoleStack, people: list[Person]
) -> None:
    """The demo's accounts are offered; choosing one signs in as it, and a
    sub-user's session names its owner."""
    person = people[0]
    await person.go("/sign-in")
    await person.page.get_by_role("button", name=f"Sign in as {DEMO_SUBUSER}").click()
    await expect(person.page.get_by_test_id("who")).to_have_text(DEMO_SUBUSER)
    await expect(person.page.get_by_role("banner")).to_contain_text(f"sub-user of {DEMO_RESELLER}")
    await person.page.get_by_role("button", name="Sign out").click()
    await person.page.get_by_role("button", name=f"Sign in as {DEMO_RESELLER}").click()
    await expect(person.page.get_by_test_id("who")).to_have_text(DEMO_RESELLER)
    await person.go("/customers")
    await expect(person.page.locator("#customer-20000000003")).to_contain_text("account_frozen")


async def test_unbinding_customers_a_page_at_a_time(
    console_stack: ConsoleStack, parties: Parties, people: list[Person]
) -> None:
    reseller = people[0]
    await reseller.sign_in(parties.reseller)
    for customer in (parties.customer, parties.second_customer):
        await submit_from_notice(reseller, customer)
        await status_is(reseller.page, "PENDING_DISTRIBUTOR_REVIEW")
    rows = reseller.page.locator("tbody tr")

    async def both_listed() -> bool:
        return await rows.filter(has_text="Waiting").count() == 2

    await until_listed(reseller, "/applications", both_listed)
    await reseller.go("/applications?page_size=1")
    await expect(rows).to_have_count(1)
    first = await rows.get_attribute("id")
    await reseller.page.get_by_role("link", name="Next page").click()
    await expect(rows).to_have_count(1)
    second = await rows.get_attribute("id")
    assert {first, second} == {
        f"application-{parties.customer}",
        f"application-{parties.second_customer}",
    }
    # Out of bounds, or a page token the console never gave out: refused in words.
    await reseller.go("/applications?page_size=0")
    await expect(reseller.page.get_by_role("alert")).to_contain_text("page_size")
    await reseller.go("/applications?page_token=bm90LWEtdG9rZW4")
    await expect(
        reseller.page.get_by_role("heading", name="Please correct what you entered")
    ).to_be_visible()


# ---- issue 13: the customer's own request, the effective date, the evidence -----


async def test_a_customer_requests_and_its_reseller_approves_in_the_console(
    console_stack: ConsoleStack, parties: Parties, people: list[Person]
) -> None:
    reseller, other_reseller, customer = people
    pc = console_stack.partner_center

    await customer.sign_in(parties.customer)
    await customer.go("/account")
    await customer.page.get_by_role("link", name="Request to leave my reseller").click()
    request_text = customer.page.get_by_test_id("text-sha256-request")
    await expect(request_text).to_have_text(CURRENT.sha256(Consent.REQUEST))
    await customer.check("request")
    await customer.page.get_by_label("I have read and understood the above").check()
    await customer.page.get_by_label("Reason (optional)").fill("we manage billing ourselves")
    await customer.page.get_by_role("button", name="Send my request").click()
    await status_is(customer.page, "PENDING_RESELLER_REVIEW")
    await expect(customer.page.get_by_role("main")).to_contain_text("the customer itself")
    await customer.check("account-requested")

    await reseller.sign_in(parties.reseller)
    review_link = reseller.page.get_by_role(
        "link", name=f"Review the request of {parties.customer}"
    )
    await until_listed(reseller, "/reseller-reviews", review_link.is_visible)
    await reseller.check("reseller-reviews")
    await review_link.click()
    await expect(reseller.page.get_by_test_id("text-sha256-reseller_review")).to_have_text(
        CURRENT.sha256(Consent.RESELLER_REVIEW)
    )
    await reseller.check("reseller-review")

    # Another reseller: not in its queue, and the review not by its address either.
    await other_reseller.sign_in(parties.other_reseller)
    await other_reseller.go("/reseller-reviews")
    await expect(other_reseller.page.get_by_role("main")).not_to_contain_text(parties.customer)
    for path in (f"/applications/{parties.customer}", f"/applications/{parties.customer}/evidence"):
        await other_reseller.go(path)
        await expect(other_reseller.page.get_by_role("heading", name="Not found")).to_be_visible()
    # Nor by posting the review's form without the page: refused, nothing changed.
    await other_reseller.go("/reseller-reviews")
    token = await other_reseller.page.locator('input[name="csrf_token"]').first.input_value()
    forged = await other_reseller.page.request.post(
        f"{console_stack.url}/applications/{parties.customer}/reseller_review",
        form={"csrf_token": token, "action_id": "console-forged-1", "approve": "true"},
    )
    assert forged.status == 404, forged.status

    await reseller.page.get_by_label("Reason for approve").fill("agreed on the phone")
    await reseller.page.get_by_role("button", name="Approve").click()
    await status_is(reseller.page, "PENDING_CARD_BINDING")

    await customer.go("/account")
    await status_is(customer.page, "PENDING_CARD_BINDING")
    await customer.page.get_by_role("button", name="Bind a card (demo)").click()
    await status_is(customer.page, "COMPLETED")
    assert pc.show(parties.customer)["partner"] is None

    # The evidence: the customer's request text and the reseller's decision, by hash.
    await customer.page.get_by_role("link", name="Consent evidence").click()
    events = customer.page.get_by_role("region", name="Who acknowledged or decided what")
    await expect(events).to_contain_text(CURRENT.sha256(Consent.REQUEST))
    await expect(events).to_contain_text("approved the customer's request")
    await expect(events).to_contain_text(CURRENT.sha256(Consent.RESELLER_REVIEW))


async def test_the_customer_sees_the_end_of_month_plan_and_the_application_waits_for_it(
    console_stack: ConsoleStack, parties: Parties, people: list[Person]
) -> None:
    reseller, distributor, customer = people
    before = end_of_billing_month(datetime.now(UTC))
    await reseller.sign_in(parties.reseller)
    await submit_from_notice(reseller, parties.customer, end_of_month=True)
    await status_is(reseller.page, "PENDING_DISTRIBUTOR_REVIEW")
    await distributor.sign_in(parties.distributor)
    await distributor.go(f"/applications/{parties.customer}")
    await distributor.page.get_by_role("button", name="Approve").click()
    await status_is(distributor.page, "PENDING_CUSTOMER_CONFIRMATION")
    dates = {when(before), when(end_of_billing_month(datetime.now(UTC)))}

    await customer.sign_in(parties.customer)
    await customer.go("/account")
    await status_is(customer.page, "PENDING_CUSTOMER_CONFIRMATION")
    plan = customer.page.get_by_test_id("plan")
    shown = await customer.page.get_by_test_id("effective-on").inner_text()
    assert shown in dates, (shown, dates)
    await expect(plan).to_contain_text(f"at the end of the billing month: {shown}")
    await expect(plan).to_contain_text("No discount of the reseller's ends at the cutover")
    await expect(plan).to_contain_text("billed to the reseller")
    await expect(plan).to_contain_text("still charged to the reseller")
    # The plan comes before the decision on the page.
    assert await plan.evaluate(
        "(plan, button) => !!(plan.compareDocumentPosition(button) & 4)",
        await customer.page.get_by_role("button", name="Confirm Unbinding").element_handle(),
    )
    await expect(customer.page.get_by_test_id("text-sha256-confirmation")).to_have_text(
        CURRENT.sha256(Consent.CONFIRMATION)
    )
    await customer.check("account-confirm-plan")
    await customer.page.get_by_role("button", name="Confirm Unbinding").click()
    await status_is(customer.page, "PENDING_CARD_BINDING")
    await customer.page.get_by_role("button", name="Bind a card (demo)").click()
    await status_is(customer.page, "AWAITING_EFFECTIVE_DATE")
    await expect(
        customer.page.get_by_role("heading", name=f"the unbinding takes effect on {shown}")
    ).to_be_visible()
    await customer.check("account-awaiting-date")
    # Still the reseller's customer until the date.
    assert console_stack.partner_center.show(parties.customer)["partner"]["uin"] == parties.reseller

    # The evidence page shows the notice the reseller acknowledged, by its hash.
    await reseller.go(f"/applications/{parties.customer}")
    await status_is(reseller.page, "AWAITING_EFFECTIVE_DATE")
    await reseller.page.get_by_role("link", name="Consent evidence").click()
    events = reseller.page.get_by_role("region", name="Who acknowledged or decided what")
    await expect(events).to_contain_text(CURRENT.sha256(Consent.NOTICE))
    await expect(events).to_contain_text(CURRENT.sha256(Consent.CONFIRMATION))
    await expect(reseller.page.get_by_role("main")).to_contain_text(
        f"SHA-256 {CURRENT.sha256(Consent.NOTICE)} (matches the text)"
    )
    await reseller.check("evidence")


async def request_to_leave(customer: Person) -> None:
    await customer.go("/account")
    await customer.page.get_by_role("link", name="Request to leave my reseller").click()
    await customer.page.get_by_label("I have read and understood the above").check()
    await customer.page.get_by_role("button", name="Send my request").click()


async def test_a_customer_withdraws_its_requests_until_the_quota_names_the_next_date(
    console_stack: ConsoleStack, parties: Parties, people: list[Person]
) -> None:
    """Three requests withdrawn by the customer count (3 in 3 months by
    default): the fourth is refused, the quota named with when the next is allowed."""
    customer = people[0]
    await customer.sign_in(parties.customer)
    for _ in range(3):
        await request_to_leave(customer)
        await status_is(customer.page, "PENDING_RESELLER_REVIEW")
        await customer.page.get_by_role("button", name="Withdraw my request").click()
        await status_is(customer.page, "WITHDRAWN")
        await expect(customer.page.get_by_test_id("status")).to_have_text(
            "Withdrawn by the customer"
        )
    await request_to_leave(customer)
    alert = customer.page.get_by_role("alert")
    await expect(alert).to_contain_text("customer_quota")
    # The hint names the first moment another request is allowed: months ahead.
    found = re.search(r"allowed from (\d{4}-\d\d-\d\d \d\d:\d\d) UTC", await alert.inner_text())
    assert found, await alert.inner_text()
    next_allowed = datetime.strptime(found[1], "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    assert next_allowed > datetime.now(UTC) + timedelta(days=28), next_allowed
    await customer.check("refused-quota")
    assert len(console_stack.partner_center.records(parties.customer)) == 3
