# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # Transport options of every module that calls an HTTP API.
    # Matches http_argument_spec() in plugins/module_utils/_http.py.
    DOCUMENTATION = r"""
options:
  timeout:
    description:
      - Deadline in seconds for the whole module call - every API request it makes, each one's connecting,
        sending and reading every byte of the answer, and the retries of rate-limited requests with their waits.
        It is not per request nor per socket operation, so a server that trickles its answer is cut off in
        time. A rate-limit wait that would pass the deadline is not started; the module fails at once and says
        so.
      - Between 1 and 86400 seconds; fractions allowed.
    type: float
    default: 10
  validate_certs:
    description:
      - Whether to validate the API server's TLS certificate.
      - Only set to V(false) against a test server you control.
    type: bool
    default: true
  max_retries:
    description:
      - How many times a rate-limited request (HTTP 429, or a body carrying code 429) is retried.
      - V(0) fails on the first rate limit answer. At most 100.
    type: int
    default: 3
  max_retry_wait:
    description:
      - Total number of seconds the module may sleep waiting out rate limits in one run.
      - The module waits as long as the server asks (C(retry_after) in the body or the C(Retry-After) header),
        or 1, 2, 4... seconds when it names no wait. When the next wait would exceed what is left of this
        budget, the module fails at once with a message naming the requested wait, instead of sleeping
        for minutes during a flood.
      - A requested wait that is not a number (V(NaN), a date) counts as none named; an infinite or huge one
        is never slept, the module gives up at once.
      - Between 0 and 86400 seconds; fractions allowed.
    type: float
    default: 30
notes:
  - Answers are read with bounds - at most 1 MiB of body, compressed or not, and at most 1 MiB after inflating a
    C(gzip) or C(deflate) body. A larger answer fails the task; it is never cut short and then used.
  - Redirects are not followed; a C(3xx) answer is reported as an error.
  - Response bodies quoted in messages are redacted first, then cut to 300 characters.
"""
