"""The demo's HTTP API part: a customer ready for the walk-through in docs/HTTP_API.md
(a second-level reseller's, no card bound), and a development token for
each demo party, printed and written to ``var/api-tokens.env``."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from activities.sql import SqlPartnerCenter
from activities.sql.demo import DEMO_SUBUSER
from starter.api.devkeys import DEV_KEY_DIR_VARIABLE, dev_key_pair, issue_dev_token
from starter.demo_scenarios import DemoPartners, Outcome
from starter.devstack.api_process import ApiProcess, healthy
from starter.devstack.ports import listening
from starter.devstack.process import StackFailed

DEMO_OPERATOR = "demo"


def demo_key_dir(var: Path) -> Path:
    return Path(os.environ.get(DEV_KEY_DIR_VARIABLE) or var / "dev-keys")


async def start_api(api: ApiProcess, *, within: float) -> ApiProcess | None:
    """``api`` started; None when one already answers on its port (reused)."""
    if listening(api.port):
        if not await healthy(api.url):
            raise StackFailed(
                f"something listens on {api.url} but it is not this API; "
                "stop it or set UNBIND_API_PORT"
            )
        print(f"An API already answers on {api.url}: using it.", flush=True)
        return None
    print(f"Starting the HTTP API on {api.url} (python -m starter.api)…", flush=True)
    await api.start_serving(within=within)
    return api


def walkthrough_customer(
    ledger: SqlPartnerCenter, partners: DemoPartners, uins: Iterator[str]
) -> str:
    """A fresh customer of the second-level reseller, with no card bound: the
    walk-through in docs/HTTP_API.md takes it through review, confirmation and card binding."""
    customer = next(uins)
    ledger.add_customer(customer, partner_uin=partners.second_level_reseller, card=False)
    return customer


@dataclass(frozen=True)
class DemoToken:
    variable: str
    who: str
    token: str


def demo_tokens(
    partners: DemoPartners, customer: str, open_outcomes: Sequence[Outcome], key_dir: Path
) -> list[DemoToken]:
    keys = dev_key_pair(key_dir)

    def account(variable: str, who: str, uin: str, owner: str | None = None) -> DemoToken:
        return DemoToken(variable, who, issue_dev_token(account=uin, owner=owner, keys=keys))

    tokens = [
        account("DISTRIBUTOR", f"distributor {partners.distributor}", partners.distributor),
        account("RESELLER", f"reseller {partners.reseller}", partners.reseller),
        account(
            "SUBUSER",
            f"sub-user {DEMO_SUBUSER} of reseller {partners.reseller}",
            DEMO_SUBUSER,
            owner=partners.reseller,
        ),
        account(
            "SECOND_LEVEL",
            f"second-level reseller {partners.second_level_reseller}",
            partners.second_level_reseller,
        ),
        account("CUSTOMER", f"customer {customer} (the docs/HTTP_API.md walk-through)", customer),
    ]
    tokens += [
        account(f"CUSTOMER_{o.customer}", f"customer {o.customer} ({o.status})", o.customer)
        for o in open_outcomes
    ]
    tokens.append(
        DemoToken(
            "OPERATOR",
            f"operator:{DEMO_OPERATOR}",
            issue_dev_token(operator=DEMO_OPERATOR, keys=keys),
        )
    )
    return tokens


def write_token_file(path: Path, url: str, customer: str, tokens: Sequence[DemoToken]) -> None:
    lines = [
        "# Development tokens for the demo's HTTP API (valid 12 hours): source this file.",
        f"export API={shlex.quote(url)}",
        f"export CUSTOMER_UIN={customer}",
        *(f"export {t.variable}={t.token}  # {t.who}" for t in tokens),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)


def print_api(url: str, customer: str, tokens: Sequence[DemoToken], token_file: Path) -> None:
    print()
    print(f"HTTP API:    {url}  (OpenAPI docs: {url}/docs; development tokens accepted)")
    print(f"Tokens:      source {token_file}   (docs/HTTP_API.md walks customer {customer})")
    for token in tokens:
        print(f"  {token.variable:<24} {token.who}")
        print(f"    {token.token}")


def report_api(
    url: str, partners: DemoPartners, customer: str, outcomes: Sequence[Outcome], *, var: Path
) -> None:
    """Print the API's address and a token per demo party; write them to
    ``var/api-tokens.env`` for ``source``."""
    waiting = [o for o in outcomes if o.ok and o.next_command]
    tokens = demo_tokens(partners, customer, waiting, demo_key_dir(var))
    token_file = var / "api-tokens.env"
    write_token_file(token_file, url, customer, tokens)
    shown = (
        token_file.relative_to(Path.cwd()) if token_file.is_relative_to(Path.cwd()) else token_file
    )
    print_api(url, customer, tokens, shown)
    print_console(url, tokens)
    sys.stdout.flush()


def print_console(url: str, tokens: Sequence[DemoToken]) -> None:
    """The web console (served by the API) and the accounts to sign in as:
    the demo's partners, the walk-through customer and the customers whose
    applications were left open."""
    print()
    print(f"Console:     {url}/console/  (sign in by choosing a demo account)")
    for token in tokens:
        if token.variable != "OPERATOR":  # operators keep the Temporal Web UI
            print(f"  sign in as {token.who}")
