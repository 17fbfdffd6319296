"""Fixtures shared by the API module and module_utils unit tests."""
import os
import sys

import pytest

from ansible_collections.tgops.runbooks.plugins.module_utils import _http

# The fake API server and module runner live beside the module tests; module_utils tests use them too.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "modules"))

from tgops_fake_api import FakeAPI  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture
def api():
    """A real HTTP server on 127.0.0.1 (port 0) that answers as the test scripts it."""
    server = FakeAPI()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    """Record the retry waits instead of sleeping them."""
    waited = []
    monkeypatch.setattr(_http, "_sleep", waited.append)
    return waited
