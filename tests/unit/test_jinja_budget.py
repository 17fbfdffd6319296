"""Decisions live in filters with unit tests, not in Jinja that only the lab can test (issue 21, point 2).

A task or playbook file is Jinja-heavy when its ``{{ }}`` expressions take five or more decisions: an inline
``if``, a comparison, ``and``/``or``/``not``, an ``is`` test, ``select``/``reject`` or a ``regex_*`` filter (words
inside string literals do not count). ``when:`` conditions are not counted: choosing whether a step runs is the
role's job. At most five files may be heavy, and those are named here with the reason they stay so; a new heavy
file fails this test until its decisions move into a filter (plugins/filter/) with unit tests.
"""
import glob
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXPRESSION = re.compile(r'\{\{.*?\}\}', re.S)
STRING = re.compile(r"'[^']*'|\"[^\"]*\"")
DECISION = re.compile(r"\bif\b|\bselect(?:attr)?\(|\breject(?:attr)?\(|regex_\w+|==|!=|<=|>=|\s<\s|\s>\s"
                      r"|\band\b|\bor\b|\bnot\b|\bis\s+(?:not\s+)?\w+")
HEAVY_AT = 5
BUDGET = 5
# The heavy files that stay so, and why (at most BUDGET).
ALLOWED = {}


def decisions(text):
    return sum(len(DECISION.findall(STRING.sub("''", expression))) for expression in EXPRESSION.findall(text))


def files():
    patterns = ('roles/*/tasks/*.yml', 'roles/*/handlers/*.yml', 'playbooks/*.yml', 'playbooks/tasks/*.yml')
    return sorted(path for pattern in patterns for path in glob.glob(os.path.join(ROOT, pattern)))


def heavy():
    found = {}
    for path in files():
        with open(path, encoding='utf-8') as handle:
            count = decisions(handle.read())
        if count >= HEAVY_AT:
            found[os.path.relpath(path, ROOT)] = count
    return found


def test_the_measure_counts_decisions_not_wiring():
    assert decisions("x: \"{{ {'a': a, 'b': b} | tgops.runbooks.f }}\"") == 0
    assert decisions("x: \"{{ 'up' if a == 1 and not b else 'down' }}\"") == 4
    assert decisions("x: \"{{ 'if a == b' }}\"\nwhen: a == b and c") == 0
    assert decisions("x: \"{{ r is skipped or r | select('match', 'x') }}\"") == 3


def test_at_most_five_files_are_jinja_heavy():
    found = heavy()
    assert len(ALLOWED) <= BUDGET
    unexplained = {path: count for path, count in found.items() if path not in ALLOWED}
    assert not unexplained, (
        'Jinja-heavy (%d+ decisions in {{ }}); move the decisions into a filter with unit tests: %s'
        % (HEAVY_AT, ', '.join('%s (%d)' % item for item in sorted(unexplained.items()))))
    stale = sorted(set(ALLOWED) - set(found))
    assert not stale, 'no longer heavy, remove from ALLOWED: %s' % ', '.join(stale)
