"""Search attributes operators filter on in the Web UI, upserted on every
state change. The server must know them: ``registration_flags()`` gives the
``--search-attribute`` flags for ``temporal server start-dev``."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

UNBIND_STATUS = SearchAttributeKey.for_keyword("UnbindStatus")
CUSTOMER_UIN = SearchAttributeKey.for_keyword("CustomerUin")
RESELLER_UIN = SearchAttributeKey.for_keyword("ResellerUin")
DISTRIBUTOR_UIN = SearchAttributeKey.for_keyword("DistributorUin")
UNBIND_DEADLINE = SearchAttributeKey.for_datetime("UnbindDeadline")

ALL = (UNBIND_STATUS, CUSTOMER_UIN, RESELLER_UIN, DISTRIBUTOR_UIN, UNBIND_DEADLINE)

_TYPE_NAMES = {"KEYWORD": "Keyword", "DATETIME": "Datetime"}


def registration_flags() -> list[str]:
    flags = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={_TYPE_NAMES[key.indexed_value_type.name]}"]
    return flags
