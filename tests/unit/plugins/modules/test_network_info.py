"""modules/network_info: names resolve, URLs answer (any HTTP status), ufw read; from the host, in one call."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import socket
import threading

import pytest

from ansible_collections.tgops.runbooks.plugins.modules import network_info
from tgops_module_runner import run_module

UFW = """Status: active
Logging: on (low)
Default: deny (incoming), allow (outgoing), disabled (routed)
New profiles: skip

To                         Action      From
--                         ------      ----
22/tcp                     ALLOW IN    Anywhere
443/tcp                    ALLOW IN    Anywhere
"""


@pytest.fixture(name="silent_port")
def fixture_silent_port():
    """A port that accepts connections and never answers (a black-holed path)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except socket.timeout:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def run(args, ufw=None, check_mode=False):
    def run_command(argv, environ_update=None, **kw):
        assert argv[1:] == ["status", "verbose"]
        return ufw
    return run_module(network_info, args, check_mode=check_mode, run_command=run_command,
                      bin_paths={"ufw": "/usr/sbin/ufw" if ufw else None})


def test_any_http_answer_is_reachable(api):
    api.route("/", (302, "", {"Location": "https://core.telegram.org/bots"}))
    result = run({"urls": [api.url + "/"]})
    (entry,) = result["urls"]
    assert entry["reachable"] is True and entry["status"] in (302, 501) and entry["error"] is None
    assert entry["addresses"] == ["127.0.0.1"] and result["passed"] is True and result["changed"] is False


def test_a_refused_connection_is_a_problem():
    url = "http://127.0.0.1:%d/" % closed_port()
    result = run({"urls": [url]})
    assert result["passed"] is False and result["urls"][0]["reachable"] is False
    assert result["findings"][0].startswith(url + ": ") and "the host cannot reach it" in result["findings"][0]


def test_a_black_hole_is_a_timeout_within_the_deadline(silent_port):
    result = run({"urls": ["http://127.0.0.1:%d/" % silent_port], "request_timeout": 1})
    entry = result["urls"][0]
    assert entry["reachable"] is False and "no answer within 1.0 seconds (timeout)" in entry["error"]
    assert entry["seconds"] < 3


def test_the_whole_call_has_one_deadline(silent_port):
    url = "http://127.0.0.1:%d/" % silent_port
    result = run({"urls": [url, url, url], "timeout": 1.5, "request_timeout": 1})
    errors = [entry["error"] for entry in result["urls"]]
    assert errors[0] == "no answer within 1.0 seconds (timeout)"
    assert errors[1] == "no answer within 0.5 seconds (timeout)"
    assert errors[2].startswith("not checked: the deadline of the whole call")
    assert sum(entry["seconds"] for entry in result["urls"]) < 2.5


def test_a_name_that_does_not_resolve():
    result = run({"urls": ["https://does-not-exist.invalid/"], "request_timeout": 2})
    entry = result["urls"][0]
    assert entry["addresses"] == [] and "does not resolve" in entry["error"] and result["passed"] is False


def test_fail_on_problem():
    result = run({"urls": ["http://127.0.0.1:%d/" % closed_port()], "fail_on_problem": True})
    assert result["failed"] is True and "the host cannot reach it" in result["msg"]


def test_ufw_is_read_when_installed(api):
    api.route("/", (200, "ok"))
    result = run({"urls": [api.url + "/"]}, ufw=(0, UFW, ""))
    assert result["firewall"] == {"tool": "ufw", "active": True, "default_incoming": "deny",
                                  "rules": ["22/tcp ALLOW IN Anywhere", "443/tcp ALLOW IN Anywhere"]}


def test_no_ufw_means_no_firewall_tool():
    result = run({"urls": []})
    assert result["firewall"]["tool"] == "none" and result["passed"] is True


def test_a_failing_ufw_is_a_warning():
    result = run({"urls": []}, ufw=(1, "", "ERROR: You need to be root to run this script"))
    assert result["firewall"]["tool"] == "none" and "ufw status failed" in result["warnings"][0]


@pytest.mark.parametrize("args,expect", [
    ({"urls": ["ftp://example.org/"]}, "urls"),
    ({"urls": ["https://user:pass@example.org/"]}, "user information"),
    ({"urls": [], "timeout": 0}, "timeout must be"),
    ({"urls": [], "timeout": float("nan")}, "timeout must be"),
    ({"urls": [], "request_timeout": -1}, "request_timeout must be"),
])
def test_bad_input_is_refused(args, expect):
    result = run(args)
    assert result["failed"] is True and expect in result["msg"] and "pass" not in result["msg"].replace("passed", "")


def test_check_mode_checks_the_same(api):
    api.route("/", (200, "ok"))
    assert run({"urls": [api.url + "/"]}, check_mode=True)["passed"] is True
