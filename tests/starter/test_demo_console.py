"""What ``make demo`` prints about the web console: its address and an
account to sign in as for each demo party (operators keep the Web UI)."""

from __future__ import annotations

import pytest

from starter.demo_api import DemoToken, print_console


def test_the_demo_prints_the_console_and_the_accounts_to_sign_in_as(
    capsys: pytest.CaptureFixture[str],
) -> None:
    tokens = [
        DemoToken("RESELLER", "reseller 10000000002", "t1"),
        DemoToken("CUSTOMER_20000000012", "customer 20000000012 (PENDING_CARD_BINDING)", "t2"),
        DemoToken("OPERATOR", "operator:demo", "t3"),
    ]
    print_console("http://127.0.0.1:8000", tokens)
    lines = capsys.readouterr().out.splitlines()
    assert "Console:     http://127.0.0.1:8000/console/" in lines[1]
    assert lines[2:] == [
        "  sign in as reseller 10000000002",
        "  sign in as customer 20000000012 (PENDING_CARD_BINDING)",
    ]
