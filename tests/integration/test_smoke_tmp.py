import pytest
import time
from tests.conftest import Ledger
from tests.integration.conftest import Unbind

pytestmark = pytest.mark.integration

async def test_smoke(ledger: Ledger, unbind: Unbind) -> None:
    p = ledger.direct()
    t = time.monotonic()
    r = await unbind("apply", "--customer", p.customer, "--initiator", p.reseller, "--acknowledge-notice")
    print(time.monotonic() - t, r)
    t = time.monotonic()
    r = await unbind("confirm", "--customer", p.customer, "--as", p.customer)
    print(time.monotonic() - t, r)
    t = time.monotonic()
    r = await unbind("status", "--customer", p.customer)
    print(time.monotonic() - t, r)
    r = await unbind("list", "--reseller", p.reseller)
    print(time.monotonic() - t, r)
