"""Fixtures for the tests that send messages as a raw client would."""

from __future__ import annotations

import pytest
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment


@pytest.fixture
def plain_client(dev_env: WorkflowEnvironment) -> Client:
    """A client with the SDK's default converter: it sends whatever it is given."""
    config = dev_env.client.config()
    config["data_converter"] = DataConverter.default
    return Client(**config)
