"""Start the lab's API emulators in-process on 127.0.0.1 (port 0) for the emulator unit tests."""
import os
import sys
import threading

import pytest
import requests

EMULATORS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "lab", "emulators")
EMULATORS_DIR = os.path.normpath(EMULATORS_DIR)
if EMULATORS_DIR not in sys.path:
    sys.path.insert(0, EMULATORS_DIR)

from tgops_emulators import create_app  # noqa: E402
from tgops_emulators.common import make_server  # noqa: E402


class Running:
    def __init__(self, app, server):
        self.app = app
        self.server = server
        self.url = "http://127.0.0.1:%d" % server.server_address[1]


@pytest.fixture
def start_emulator():
    """Factory: ``start_emulator("telegram", seed={...})`` -> Running (url, app); stopped afterwards."""
    servers = []

    def _start(name, seed=None, **kwargs):
        app = create_app(name, seed, **kwargs)
        server = make_server(app, "127.0.0.1", 0)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        servers.append((server, thread))
        return Running(app, server)

    yield _start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def http():
    """A requests session that ignores proxy settings: tests talk to 127.0.0.1 only."""
    session = requests.Session()
    session.trust_env = False
    yield session
    session.close()
