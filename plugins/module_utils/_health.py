# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Judging the platforms' ``/health`` answers (private to tgops.runbooks).

The toogoodtogo bot answers::

    {"status": "healthy|degraded|unhealthy", "version": "v1.2.3", "uptime_seconds": 86400,
     "dependencies": {"postgres": {"status": "healthy", "response_time_ms": 5}, "redis": {...}}}

with HTTP 503 when unhealthy; the tgquiz runbook only runs ``curl -f /health``, so a 2xx answer that is not
JSON counts as healthy by its status code. ``evaluate()`` has no I/O so tests and other modules can use it.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.tgops.runbooks.plugins.module_utils._http import (
    MAX_BODY,
    MAX_REDIRECTS,
    TransportError,
    fetch,
    parse_json,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._redact import clean_text, excerpt, shown

HEALTHY = ('healthy', 'ok', 'up', 'pass')
DEGRADED = ('degraded', 'warn', 'warning')


def _norm_status(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return 'healthy' if value else 'unhealthy'
    if isinstance(value, (dict, list)):
        return shown(value, 60).lower()
    return shown(str(value).strip().lower(), 60)


def _acceptable(status, allow_degraded):
    if status in HEALTHY:
        return True
    return allow_degraded and status in DEGRADED


def versions_match(expected, actual):
    """``v1.2.3`` and ``1.2.3`` are the same release."""
    if actual is None:
        return False
    return str(expected).strip().lstrip('vV') == str(actual).strip().lstrip('vV')


def evaluate(http_status, body, status_codes=(200,), allow_degraded=False, expected_version=None,
             expected_platform=None):
    """Verdict on one answer. ``body`` is bytes or text (or None when there was no answer).

    Returns a dict: healthy, status, version, uptime_seconds, dependencies, unhealthy_dependencies,
    body_format (json / text / empty), findings (why not healthy), json (the parsed document or None).

    ``expected_platform``: a JSON answer that names another ``platform`` is not this platform's health (a proxy
    in front of it serves another application); an answer that names none cannot be told apart."""
    verdict = {
        'healthy': False, 'status': None, 'version': None, 'uptime_seconds': None, 'dependencies': {},
        'unhealthy_dependencies': [], 'body_format': 'empty', 'findings': [], 'json': None,
    }
    reasons = verdict['findings']
    if http_status not in status_codes:
        reasons.append('HTTP %s (expected %s)' % (http_status, ', '.join(str(c) for c in status_codes)))

    doc = None
    if body:
        if isinstance(body, bytes):
            body = body.decode('utf-8', 'replace')
        body = clean_text(body)
        try:
            doc = parse_json(body)
            verdict['body_format'] = 'json'
        except ValueError as exc:
            verdict['body_format'] = 'text'
            if body.lstrip()[:1] in ('{', '['):
                # Meant as JSON but broken (cut short, NaN, nested absurdly): it cannot say healthy.
                reasons.append('the answer starts like JSON but does not parse: %s' % shown(str(exc), 120))
        if doc is not None and not isinstance(doc, dict):
            doc = None
            verdict['body_format'] = 'text'
    verdict['json'] = doc

    if doc is None:
        # tgquiz: `curl -f /health` - the status code is the whole answer
        if expected_version:
            reasons.append('expected version %s, but the answer is not JSON and names no version' % expected_version)
        verdict['healthy'] = not reasons
        if verdict['healthy']:
            verdict['status'] = 'healthy'
        return verdict

    status = _norm_status(doc.get('status'))
    verdict['status'] = status
    verdict['version'] = doc.get('version')
    verdict['uptime_seconds'] = doc.get('uptime_seconds')
    if doc.get('status') is None:
        reasons.append('the JSON answer has no "status"')
    elif not _acceptable(status, allow_degraded):
        reasons.append('status "%s"%s' % (status, ' (allow_degraded is false)' if status in DEGRADED else ''))

    deps = doc.get('dependencies')
    if isinstance(deps, dict):
        for name in sorted(deps):
            info = deps[name]
            if isinstance(info, dict):
                dep_status = _norm_status(info.get('status'))
                entry = {'status': dep_status, 'response_time_ms': info.get('response_time_ms')}
                for key in ('error', 'message'):
                    if info.get(key) is not None:
                        entry[key] = info[key]
            else:
                dep_status = _norm_status(info)
                entry = {'status': dep_status, 'response_time_ms': None}
            verdict['dependencies'][name] = entry
            if not _acceptable(dep_status, allow_degraded):
                verdict['unhealthy_dependencies'].append(name)
        if verdict['unhealthy_dependencies']:
            names = verdict['unhealthy_dependencies']
            reasons.append('dependencies not healthy: %s%s' % (', '.join(
                '%s (%s)' % (shown(n, 60), verdict['dependencies'][n]['status']) for n in names[:20]),
                ' and %d more' % (len(names) - 20) if len(names) > 20 else ''))
    elif deps not in (None, []):
        reasons.append('"dependencies" is not an object')

    if expected_version and not versions_match(expected_version, verdict['version']):
        reasons.append('version %s, expected %s' % (shown(verdict['version'], 60), shown(expected_version, 60)))
    named = doc.get('platform')
    if expected_platform and named is not None and named != expected_platform:
        reasons.append('answers from platform %s, not %s (a proxy in front serves another application)'
                       % (shown(named, 60), shown(expected_platform, 60)))
    verdict['healthy'] = not reasons
    return verdict


def attempt(url, deadline, redact, headers=None, validate_certs=True, ca_path=None, status_codes=(200,),
            allow_degraded=False, expected_version=None, agent='tgops.runbooks.health_check', expected_platform=None):
    """One bounded request and its verdict: ``(http status or -1, verdict, error or None)``.

    ``verdict`` is :func:`evaluate`'s, with the transport error ("no answer: ...") or a body that cannot be
    judged (cut at the size limit, undecodable) first among its reasons; ``error`` is the transport error,
    redacted."""
    error = body_problem = None
    body = None
    try:
        http_status, dummy, body, dummy = fetch(
            url, method='GET', headers=headers or {}, deadline=deadline, max_body=MAX_BODY,
            validate_certs=validate_certs, ca_path=ca_path, max_redirects=MAX_REDIRECTS, http_agent=agent)
    except TransportError as exc:
        if exc.status is not None and exc.kind in ('too_large', 'bad_body'):
            # An answer arrived but its body cannot be judged: never call a cut or undecodable body healthy.
            http_status, body_problem = exc.status, exc.detail
        else:
            http_status, error = -1, exc.detail
    verdict = evaluate(http_status, body, status_codes=status_codes, allow_degraded=allow_degraded,
                       expected_version=expected_version, expected_platform=expected_platform)
    if error:
        error = excerpt(error, redact)
        verdict['findings'].insert(0, 'no answer: %s' % error)
    if body_problem:
        verdict['healthy'] = False
        verdict['status'] = None
        verdict['findings'].insert(0, 'the answer cannot be judged: %s' % excerpt(body_problem, redact))
    return http_status, verdict, error


def result_fields(http_status, verdict, error):
    """The keys health_check returns for a verdict (platform_info's RV(health) has the same)."""
    result = dict(
        passed=verdict['healthy'],
        status=verdict['status'],
        version=verdict['version'],
        uptime_seconds=verdict['uptime_seconds'],
        http_status=http_status,
        dependencies=verdict['dependencies'],
        unhealthy_dependencies=verdict['unhealthy_dependencies'],
        findings=verdict['findings'],
        body_format=verdict['body_format'],
    )
    if verdict['json'] is not None:
        result['response'] = verdict['json']
    if error:
        result['error'] = error
    return result


def describe(label, url, result):
    """One finding for a health answer that is not healthy, e.g. "health endpoint http://h/health reports
    degraded (unhealthy: redis)" or "... is not healthy: no answer: connection refused"."""
    if result.get('status') and result.get('status') != 'healthy':
        line = '%s %s reports %s' % (label, url, result['status'])
        if result.get('unhealthy_dependencies'):
            line += ' (unhealthy: %s)' % ', '.join(result['unhealthy_dependencies'])
        return line
    reasons = result.get('findings') or [result.get('msg') or 'no answer']
    return '%s %s is not healthy: %s' % (label, url, '; '.join(str(r) for r in reasons))
