#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: health_check
short_description: Poll an application health endpoint until it is healthy, judging each dependency
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - Requests O(url) every O(interval) seconds until the answer is healthy or O(timeout) seconds have passed.
  - Understands the runbooks' JSON health document - C(status) (C(healthy), C(degraded), C(unhealthy)),
    C(version), C(uptime_seconds), and C(dependencies.<name>.status) with C(response_time_ms) - and returns
    every dependency's state, the unhealthy ones, the version, the HTTP status and how many attempts it took.
  - An answer is healthy when its HTTP status is in O(status_codes), its C(status) is C(healthy) (or
    C(degraded) with O(allow_degraded=true)), no dependency is worse, and its C(version) is O(expected_version)
    when that is set.
  - A 2xx answer whose body is not a JSON object (tgquiz's endpoint, checked by the runbook with
    C(curl -f /health)) is healthy by its status code alone; it names no version, so it cannot satisfy
    O(expected_version).
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._attributes.info_module
  - tgops.runbooks._attributes.controller_side
options:
  url:
    description:
      - The health endpoint, for example V(http://127.0.0.1:8000/health). Only V(http://) and V(https://).
      - Its user info (V(http://user:password@host/health), or a token as user) and the values of its credential
        query parameters (names with C(token), C(key), C(secret), C(sig), C(auth), ...) are secrets - masked in
        messages, results, failures and the module invocation (C(-vvv)), decoded and as spelled, as a C(no_log)
        option is - and the user info is sent only to that URL's origin.
    type: str
    required: true
  timeout:
    description:
      - Seconds to keep polling before giving up. V(0) makes a single attempt.
      - This is a deadline for the whole run - every request, however slowly the server trickles its answer,
        is cut off so that the module ends within about O(timeout) seconds (or O(request_timeout) with V(0)).
      - A finite number from 0 to 86400; V(nan) and V(inf) are refused.
    type: float
    default: 60
  interval:
    description:
      - Seconds between the start of one attempt and the next (0 to 3600).
    type: float
    default: 2
  request_timeout:
    description:
      - Seconds one attempt may take as a whole - connecting and reading the complete answer - never beyond the
        O(timeout) deadline. Above 0 and at most 86400.
    type: float
    default: 5
  status_codes:
    description:
      - HTTP status codes (100-599) that may count as healthy. The runbooks' endpoints answer C(503) when
        unhealthy.
    type: list
    elements: int
    default: [200]
  allow_degraded:
    description:
      - Accept C(degraded) as healthy, for the service and for its dependencies.
    type: bool
    default: false
  expected_version:
    description:
      - The C(version) the answer must report, for example right after a deploy. A leading C(v) is ignored
        (V(v1.2.3) matches V(1.2.3)).
    type: str
  expected_platform:
    description:
      - The platform the answer must be from. A JSON answer whose C(platform) names another one is not healthy
        (a proxy in front of the URL serves another application, as an nginx with a stale upstream address
        does); an answer that names no platform is judged on the rest.
    type: str
    version_added: 0.1.0
  validate_certs:
    description:
      - Validate the server's TLS certificate for C(https) URLs.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA that signed the server's certificate, such as the lab CA in front of nginx.
    type: path
  headers:
    description:
      - Extra request headers, for example an C(Authorization) header.
      - Their values are treated as secrets (masked in the output), and they are sent only to the origin
        (scheme, host and port) of O(url), never to another host a redirect points to.
    type: dict
    default: {}
  fail_on_problem:
    description:
      - Fail the task when the endpoint is not healthy by the deadline. V(false) returns RV(passed=false)
        and RV(findings) instead.
      - Defaults to V(true) because this is a check action (see the notes); the C(_info) modules default to V(false).
    type: bool
    default: true
notes:
  - Redirects are followed (at most 5); caller headers and URL credentials go only to the origin of O(url), and
    not over a downgrade from C(https) to C(http).
  - At most 1 MiB of body is read, compressed or not, and at most 1 MiB after inflating C(gzip) or C(deflate). A
    larger or undecodable answer is not healthy (it is never cut short and then judged), and neither is a body
    that starts like a JSON object but does not parse.
  - Why not M(ansible.builtin.uri) with C(until)/C(retries) - C(uri) can only retry on what one Jinja condition
    sees; judging each dependency's status, the version after a deploy and degraded-versus-unhealthy in one
    retry loop, and reporting which dependency kept it unhealthy, needs this module.
  - Not named C(health_check_info) although it changes nothing - it is a check action, like
    M(ansible.builtin.wait_for), whose purpose is to stop the play when the service is not healthy (hence
    O(fail_on_problem=true) by default); C(_info) modules report and never fail on their verdict by default.
    The collection's vocabulary is in C(docs/module-vocabulary.md).
  - Requests go through C(ansible.module_utils.urls.open_url), so proxies and TLS settings behave as in
    M(ansible.builtin.uri).
seealso:
  - module: ansible.builtin.uri
"""

EXAMPLES = r"""
- name: Wait up to two minutes for the toogoodtogo bot to be healthy with its dependencies
  tgops.runbooks.health_check:
    url: http://127.0.0.1:8000/health
    timeout: 120
    interval: 2

- name: After a deploy, require the new release
  tgops.runbooks.health_check:
    url: http://127.0.0.1:8000/health
    expected_version: "{{ release_tag }}"
    timeout: 90

- name: The tgquiz API through nginx with the lab CA (curl -f semantics, any JSON or text body)
  tgops.runbooks.health_check:
    url: https://127.0.0.1:18443/health
    ca_path: /etc/ssl/certs/tgops-lab-ca.pem
    timeout: 30

- name: Triage - report without failing, accept degraded
  tgops.runbooks.health_check:
    url: http://127.0.0.1:8000/health
    timeout: 0
    allow_degraded: true
    fail_on_problem: false
  register: health

- name: Name the failing dependency
  ansible.builtin.debug:
    msg: "Unhealthy dependencies: {{ health.unhealthy_dependencies | join(', ') }}"
  when: not health.passed
"""

RETURN = r"""
passed:
  description: Whether the last answer was healthy (the collection's verdict key).
  returned: always
  type: bool
status:
  description: The C(status) of the last JSON answer (lower case), V(healthy) for a 2xx non-JSON answer, or null.
  returned: always
  type: str
  sample: degraded
version:
  description: The C(version) of the last JSON answer.
  returned: always
  type: str
  sample: v1.2.3
uptime_seconds:
  description: The C(uptime_seconds) of the last JSON answer.
  returned: always
  type: float
  sample: 86400
http_status:
  description: HTTP status of the last answer, or -1 when there was none (connection refused, timeout).
  returned: always
  type: int
  sample: 503
dependencies:
  description: Each dependency of the last JSON answer with C(status) and C(response_time_ms).
  returned: always
  type: dict
  sample: {postgres: {status: healthy, response_time_ms: 5}, redis: {status: unhealthy, response_time_ms: null}}
unhealthy_dependencies:
  description: Names of the dependencies that were not healthy in the last answer.
  returned: always
  type: list
  elements: str
  sample: [redis]
findings:
  description: Why the last answer was not healthy (empty when healthy).
  returned: always
  type: list
  elements: str
  sample: ['HTTP 503 (expected 200)', 'dependencies not healthy: redis (unhealthy)']
body_format:
  description: V(json), V(text) or V(empty) - the kind of body of the last answer.
  returned: always
  type: str
response:
  description: The last JSON document as parsed.
  returned: when the last answer was a JSON object
  type: dict
attempts:
  description: Number of requests sent.
  returned: always
  type: int
  sample: 3
elapsed_seconds:
  description: Seconds from the first request to the verdict.
  returned: always
  type: float
error:
  description: The error of the last attempt when it got no HTTP answer.
  returned: when the last attempt got no answer
  type: str
msg:
  description: Summary of the verdict.
  returned: always
  type: str
"""

from ansible_collections.tgops.runbooks.plugins.module_utils._module import run_api_module
from ansible_collections.tgops.runbooks.plugins.module_utils._health_check import (
    HealthCheckModule,
    module_spec,
    run_module,
)


def main():
    run_api_module(HealthCheckModule, module_spec, run_module)


if __name__ == '__main__':
    main()
