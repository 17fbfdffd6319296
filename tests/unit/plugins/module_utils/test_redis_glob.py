"""module_utils/_redis_keys: Redis glob rules, quoting for redis-cli, batching, replies."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fnmatch
import string

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.tgops.runbooks.plugins.module_utils import _redis_keys as rk


@pytest.mark.parametrize('pattern,key,match', [
    ('quiz:*', 'quiz:1', True), ('quiz:*', 'quiz:', True), ('quiz:*', 'quizz:1', False),
    ('quiz:*', 'user:quiz:1', False), ('h?llo', 'hello', True), ('h?llo', 'hllo', False),
    ('h[ae]llo', 'hallo', True), ('h[ae]llo', 'hillo', False), ('h[^e]llo', 'hallo', True),
    ('h[^e]llo', 'hello', False), ('h[a-b]llo', 'hbllo', True), ('h[a-b]llo', 'hcllo', False),
    ('a\\*b', 'a*b', True), ('a\\*b', 'axb', False), ('*:session:*', 'u:session:9', True),
    ('a*b*c', 'aXbYc', True), ('a*b*c', 'aXbY', False), ('[abc', '[abc', True),
])
def test_glob_match(pattern, key, match):
    assert rk.glob_match(pattern, key) is match


@settings(max_examples=150, deadline=1000)
@given(st.text(alphabet='ab*?', max_size=8), st.text(alphabet='ab', max_size=10))
def test_glob_agrees_with_fnmatch_on_star_and_question(pattern, key):
    # without classes and escapes Redis's glob and fnmatch agree
    assert rk.glob_match(pattern, key) == fnmatch.fnmatchcase(key, pattern)


def test_quote_round_trips_special_keys():
    assert rk.quote('plain') == '"plain"'
    assert rk.quote('a "b" \\c') == '"a \\"b\\" \\\\c"'
    assert rk.quote('x\ny') == '"x\\x0ay"'
    assert rk.quote('é') == '"\\xc3\\xa9"'
    assert rk.quote(b'\xff'.decode('utf-8', 'surrogateescape')) == '"\\xff"'


def test_scanned_keys_dedups_and_rejects_pieces():
    keys, stray = rk.scanned_keys('quiz:1\nquiz:2\nquiz:1\nzzz\n\n', 'quiz:*')
    assert keys == ['quiz:1', 'quiz:2'] and stray == ['zzz']


def test_delete_script_batches():
    script = rk.delete_script(['k%d' % i for i in range(5)], 2)
    assert script.splitlines() == ['UNLINK "k0" "k1"', 'UNLINK "k2" "k3"', 'UNLINK "k4"']
    assert rk.delete_script([], 10) == ''
    with pytest.raises(ValueError):
        rk.delete_script(['a'], 0)


def test_deleted_count():
    assert rk.deleted_count('2\n2\n1\n') == 5
    assert rk.deleted_count('(integer) 3\n') == 3
    assert rk.deleted_count('ERR wrong\n') is None


@pytest.mark.parametrize('pattern', ['', '   ', '*', '**', 'a\nb'])
def test_refused_patterns(pattern):
    assert rk.validate_pattern(pattern)


def test_accepted_pattern():
    assert rk.validate_pattern('quiz:*') is None


@settings(max_examples=100, deadline=1000)
@given(st.text(alphabet=string.printable, max_size=20))
def test_literal_pattern_matches_itself_when_escaped(key):
    escaped = ''.join('\\' + c if c in '*?[]\\' else c for c in key)
    assert rk.glob_match(escaped, key)
