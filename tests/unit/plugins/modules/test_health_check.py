# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""tgops.runbooks.health_check against a real HTTP server on 127.0.0.1 (port 0), every timeout bounded."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from urllib.parse import quote

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.tgops.runbooks.plugins.module_utils import _health_check
from ansible_collections.tgops.runbooks.plugins.module_utils._health import evaluate, versions_match
from ansible_collections.tgops.runbooks.plugins.modules import health_check

from tgops_module_runner import run_module


def doc(status='healthy', version='v1.2.3', postgres='healthy', redis='healthy'):
    return {
        'status': status, 'version': version, 'uptime_seconds': 86400,
        'dependencies': {
            'postgres': {'status': postgres, 'response_time_ms': 5},
            'redis': {'status': redis, 'response_time_ms': 2},
        },
    }


class HealthServer(object):
    """``routes`` maps a path to a list of answers (code, body, delay); the last one repeats."""

    def __init__(self):
        self.routes = {}
        self.hits = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                answers = server.routes.get(self.path) or [(404, 'not found', 0)]
                count = server.hits.get(self.path, 0)
                server.hits[self.path] = count + 1
                code, body, delay = answers[min(count, len(answers) - 1)]
                if delay:
                    time.sleep(delay)
                if isinstance(body, dict):
                    payload, ctype = json.dumps(body).encode(), 'application/json'
                else:
                    payload, ctype = body.encode(), 'text/plain'
                try:
                    self.send_response(code)
                    self.send_header('Content-Type', ctype)
                    self.send_header('Content-Length', str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={'poll_interval': 0.05})
        self.thread.daemon = True
        self.thread.start()
        self.base = 'http://127.0.0.1:%d' % self.httpd.server_address[1]

    def route(self, path, *answers):
        self.routes[path] = [a if len(a) == 3 else a + (0,) for a in answers]
        return self.base + path

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = HealthServer()
    yield srv
    srv.close()


def run(url, **args):
    base = dict(url=url, timeout=2, interval=0.05, request_timeout=1)
    base.update(args)
    started = time.time()
    result = run_module(health_check, base)
    assert time.time() - started < 10
    return result


def test_healthy(server):
    url = server.route('/health', (200, doc()))
    result = run(url)
    assert not result.get('failed'), result['msg']
    assert result['changed'] is False
    assert result['passed'] is True
    assert result['status'] == 'healthy'
    assert result['version'] == 'v1.2.3'
    assert result['uptime_seconds'] == 86400
    assert result['http_status'] == 200
    assert result['dependencies'] == {'postgres': {'status': 'healthy', 'response_time_ms': 5},
                                      'redis': {'status': 'healthy', 'response_time_ms': 2}}
    assert result['unhealthy_dependencies'] == [] and result['findings'] == []
    assert result['attempts'] == 1
    assert result['body_format'] == 'json'
    assert result['response']['version'] == 'v1.2.3'


def test_unhealthy_503_names_dependency(server):
    url = server.route('/health', (503, doc('unhealthy', redis='unhealthy')))
    result = run(url, timeout=1, interval=0.2)
    assert result['failed'] is True
    assert result['passed'] is False
    assert result['http_status'] == 503
    assert result['status'] == 'unhealthy'
    assert result['unhealthy_dependencies'] == ['redis']
    assert result['attempts'] >= 3
    assert 'HTTP 503 (expected 200)' in result['msg'] and 'redis (unhealthy)' in result['msg']
    assert 1 <= result['elapsed_seconds'] < 3


def test_degraded(server):
    url = server.route('/health', (200, doc('degraded', redis='degraded')))
    result = run(url, timeout=0, fail_on_problem=False)
    assert not result.get('failed')
    assert result['passed'] is False and result['attempts'] == 1
    assert result['findings'][0] == 'status "degraded" (allow_degraded is false)'
    assert result['unhealthy_dependencies'] == ['redis']
    result = run(url, timeout=0, allow_degraded=True)
    assert result['passed'] is True and result['unhealthy_dependencies'] == []


def test_becomes_healthy_after_restart(server):
    url = server.route('/health', (503, doc('unhealthy', postgres='unhealthy')), (502, 'Bad Gateway'),
                       (200, doc()))
    result = run(url, timeout=5, interval=0.05)
    assert result['passed'] is True
    assert result['attempts'] == 3


def test_expected_version(server):
    url = server.route('/health', (200, doc(version='v1.2.2')), (200, doc(version='1.2.3')))
    result = run(url, expected_version='v1.2.3', timeout=3)
    assert result['passed'] is True and result['attempts'] == 2
    result = run(server.route('/old', (200, doc(version='v1.2.2'))), expected_version='v1.2.3', timeout=0.3)
    assert result['failed'] and 'version v1.2.2, expected v1.2.3' in result['msg']


def test_expected_platform(server):
    """An answer through a proxy that serves another platform's application is not this platform's health; an
    answer that names no platform is judged on the rest."""
    other = dict(doc(), platform='toogoodtogo')
    url = server.route('/health', (200, other), (200, dict(doc(), platform='tgquiz')))
    result = run(url, expected_platform='tgquiz', timeout=3)
    assert result['passed'] is True and result['attempts'] == 2
    wrong = run(server.route('/other', (200, other)), expected_platform='tgquiz', timeout=0, fail_on_problem=False)
    assert wrong['passed'] is False and wrong['status'] == 'healthy'
    assert wrong['findings'] == [
        'answers from platform toogoodtogo, not tgquiz (a proxy in front serves another application)']
    assert run(server.route('/anyone', (200, other)), timeout=0)['passed'] is True, 'no expected_platform: any'
    assert run(server.route('/unnamed', (200, doc())), expected_platform='tgquiz', timeout=0)['passed'] is True
    assert run(server.route('/text', (200, 'OK')), expected_platform='tgquiz', timeout=0)['passed'] is True


def test_non_json_2xx_is_healthy_by_status(server):
    url = server.route('/health', (200, 'OK'))
    result = run(url)
    assert result['passed'] is True
    assert result['body_format'] == 'text'
    assert result['status'] == 'healthy' and result['version'] is None
    assert 'response' not in result
    result = run(url, expected_version='v1.2.3', timeout=0)
    assert result['failed'] and 'is not JSON and names no version' in result['msg']


def test_non_json_error_status(server):
    url = server.route('/health', (500, 'Internal Server Error'))
    result = run(url, timeout=0, fail_on_problem=False)
    assert result['passed'] is False and result['http_status'] == 500
    assert result['status'] is None


def test_status_codes(server):
    url = server.route('/health', (204, ''))
    assert run(url, timeout=0, fail_on_problem=False)['passed'] is False
    result = run(url, timeout=0, status_codes=[200, 204])
    assert result['passed'] is True and result['body_format'] == 'empty'


def test_slow_answer_times_out_within_deadline(server):
    url = server.route('/health', (200, doc(), 3))
    started = time.time()
    result = run(url, timeout=1, request_timeout=0.5, interval=0.1)
    assert time.time() - started < 2.5
    assert result['failed'] and result['http_status'] == -1
    assert 'no answer' in result['msg'] and 'timed out' in result['error']


def test_connection_refused(server):
    url = server.base + '/health'
    server.close()
    result = run(url, timeout=0.5, interval=0.1)
    assert result['failed'] and result['http_status'] == -1
    assert result['attempts'] >= 2
    assert 'Connection refused' in result['error']


def test_check_mode_same_answer(server):
    url = server.route('/health', (200, doc()))
    result = run_module(health_check, {'url': url, 'timeout': 0}, check_mode=True)
    assert result['passed'] is True and result['changed'] is False


def test_evaluate_shapes():
    verdict = evaluate(200, json.dumps({'status': 'ok', 'dependencies': {'db': 'up', 'cache': False}}))
    assert verdict['dependencies'] == {'db': {'status': 'up', 'response_time_ms': None},
                                       'cache': {'status': 'unhealthy', 'response_time_ms': None}}
    assert verdict['unhealthy_dependencies'] == ['cache'] and not verdict['healthy']
    assert evaluate(200, b'[1, 2]')['body_format'] == 'text'
    assert evaluate(200, b'{"version": "v1"}')['findings'] == ['the JSON answer has no "status"']
    assert versions_match('v1.2.3', '1.2.3') and not versions_match('v1.2.3', None)


# The URL's secrets: a user info password, a token as user, credential query parameters.

URL_PW = 'Hc-url-pw/4711'
URL_TOKEN = 'tk-hc-query-0815'


def run_for_real(module_args, capsys):
    """main() with Ansible's own exit_json/fail_json: the JSON the controller receives and prints at -vvv,
    invocation (module_args) included."""
    with patch_module_args(module_args):
        with pytest.raises(SystemExit):
            health_check.main()
    out = capsys.readouterr().out
    return out, json.loads(out)


def secret_url(base, path='/health'):
    return base.replace('http://', 'http://ops:%s@' % quote(URL_PW, safe='')) + path + '?probe=1&token=' + URL_TOKEN


def test_the_url_secrets_reach_neither_the_invocation_nor_the_result(server, capsys):
    server.route('/health', (503, doc('unhealthy', redis='unhealthy')))
    url = secret_url(server.base)
    out, result = run_for_real(dict(url=url, timeout=0, fail_on_problem=False), capsys)
    for secret in (URL_PW, quote(URL_PW, safe=''), URL_TOKEN):
        assert secret not in out, secret
    assert result['passed'] is False and result['invocation']['module_args']['url'] != url
    assert result['msg'].startswith('%s/health?probe=1&token=******** is not healthy'
                                    % server.base.replace('http://', 'http://********@'))


@pytest.mark.parametrize('bad, words', [
    (dict(url='http://ops:%s@127.0.0.1:99999/health?api_key=%s' % (quote(URL_PW, safe=''), URL_TOKEN)),
     'url is not a valid URL'),
    (dict(url='http://127.0.0.1:1/health?probe=1&token=' + URL_TOKEN, status_codes=['1e999999999']),
     'status_codes must be'),
    (dict(url='ftp://%s@127.0.0.1/health?sig=%s' % (URL_TOKEN, quote(URL_PW, safe=''))), 'must be an http'),
    # refused by AnsibleModule's own validation, before the module's code runs
    (dict(url='http://ops:%s@127.0.0.1:1/health?token=%s' % (quote(URL_PW, safe=''), URL_TOKEN), timeout='soon'),
     'timeout'),
])
def test_a_failure_quotes_no_url_secret(bad, words, capsys):
    out, result = run_for_real(bad, capsys)
    assert result['failed'] and words in result['msg']
    for secret in (URL_PW, quote(URL_PW, safe=''), URL_TOKEN):
        assert secret not in out, secret


def test_url_secret_spellings_decoded_and_quoted():
    url = 'https://a:p%40ss@h/health?x=1&access_token=t%2B1&api_key=k+2#frag'
    assert _health_check.url_secret_spellings(url) == ['p@ss', 't+1', 'k 2', 'p%40ss', 't%2B1', 'k+2']
    assert _health_check.url_secret_spellings('https://TOKEN123@h/health') == ['TOKEN123']
    assert _health_check.url_secret_spellings('https://h/health?page=2') == []
    assert _health_check.url_secret_spellings(None) == []
