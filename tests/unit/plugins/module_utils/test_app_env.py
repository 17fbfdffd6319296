"""_app_env: the credentials the application runs with, read from its env file and only compared, never shown."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.tgops.runbooks.plugins.module_utils._app_env import (
    MAX_BYTES, app_credentials, parse_env, read_env_file)

TOKEN = '123456:' + 'A' * 35
OTHER = '123456:' + 'B' * 35


def test_parse_env_reads_what_compose_and_dotenv_read():
    text = '\n'.join([
        '# a comment', '', 'export A=1', 'B = bare value # a comment', "C='single # kept'",
        'D="dq \\"x\\" \\n"', 'E=', 'A=2', 'not a line', 'F=x#y'])
    assert parse_env(text) == {'A': '2', 'B': 'bare value', 'C': 'single # kept', 'D': 'dq "x" \n', 'E': '',
                               'F': 'x#y'}


def test_read_env_file_names_the_file_never_a_value(tmp_path):
    missing = str(tmp_path / 'absent.env')
    assert read_env_file(missing) == ({}, "the app's env file %s does not exist" % missing)
    big = tmp_path / 'big.env'
    big.write_bytes(b'A=' + b'x' * MAX_BYTES)
    values, problem = read_env_file(str(big))
    assert values == {} and 'larger than' in problem
    if os.geteuid() != 0:
        locked = tmp_path / 'locked.env'
        locked.write_text('A=1\n')
        locked.chmod(0)
        assert 'cannot read' in read_env_file(str(locked))[1]


def test_the_apps_credential_is_used_and_compared(tmp_path):
    env = tmp_path / '.env.production'
    env.write_text('TELEGRAM_BOT_TOKEN=%s\n' % OTHER)
    names = {'bot_token': 'TELEGRAM_BOT_TOKEN'}
    use, match, findings = app_credentials(str(env), names, {'bot_token': TOKEN})
    assert use == {'bot_token': OTHER} and match == {'bot_token': False}
    assert len(findings) == 1 and 'TELEGRAM_BOT_TOKEN' in findings[0] and 'differs' in findings[0]
    assert TOKEN not in findings[0] and OTHER not in findings[0]
    env.write_text('TELEGRAM_BOT_TOKEN="%s"\n' % TOKEN)
    assert app_credentials(str(env), names, {'bot_token': TOKEN}) == ({'bot_token': TOKEN}, {'bot_token': True}, [])
    # nothing given: the app's value is checked and there is nothing to compare
    assert app_credentials(str(env), names, {}) == ({'bot_token': TOKEN}, {'bot_token': None}, [])


def test_a_missing_variable_or_file_falls_back_to_the_given_value_and_says_so(tmp_path):
    env = tmp_path / '.env'
    env.write_text('OTHER=1\n')
    names = {'bot_token': 'TELEGRAM_BOT_TOKEN'}
    use, match, findings = app_credentials(str(env), names, {'bot_token': TOKEN})
    assert use == {'bot_token': TOKEN} and match == {'bot_token': None}
    assert findings == ["the app's env file %s sets no TELEGRAM_BOT_TOKEN: the app runs without it" % env]
    gone = str(tmp_path / 'gone.env')
    use, match, findings = app_credentials(gone, names, {'bot_token': TOKEN})
    assert use == {'bot_token': TOKEN} and match == {'bot_token': None}
    assert findings == ["the app's env file %s does not exist: checked the given credentials instead" % gone]


def test_an_inline_comment_needs_a_space_before_it():
    assert parse_env('G= # a note\nH=#x\nI=a #b') == {'G': '', 'H': '#x', 'I': 'a'}
