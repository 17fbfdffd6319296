"""platform_logs: the roles' view of the logs platform_info read (masked on the host)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.platform_logs import platform_logs


def test_the_lines_and_their_count():
    result = {'changed': False, 'failed': False, 'logs': {
        'checked': True, 'since': 'all', 'error_count': 7, 'failures': [],
        'errors': ['postgres | FATAL:  password authentication failed for user "x"']}}
    assert platform_logs(result) == {'count': 7, 'failure': '',
                                     'lines': ['postgres | FATAL:  password authentication failed for user "x"']}


def test_containers_that_could_not_be_read_are_named():
    result = {'logs': {'error_count': 1, 'errors': ['bot | ERROR x'],
                       'failures': ['bot: error from daemon', 'worker: no answer within 20 s']}}
    out = platform_logs(result)
    assert out['failure'] == 'bot: error from daemon; worker: no answer within 20 s'
    assert out['count'] == 1


def test_a_failed_module_reads_nothing_and_says_why():
    # registered with failed_when: false, so 'failed' is false while the module's message explains
    out = platform_logs({'failed': False, 'msg': 'services must name at least one service'})
    assert out == {'count': 0, 'lines': [], 'failure': 'services must name at least one service'}
    assert platform_logs({'skipped': True})['failure'] == 'unknown error'


def test_not_a_result_is_refused():
    with pytest.raises(AnsibleFilterError, match='platform_info result'):
        platform_logs(['postgres | ERROR'])


@pytest.mark.parametrize('text', ['', 'short', 'x' * 205, 'x' * 206, 'word ' * 60, 'a' * 300])
def test_shorten_is_jinja_truncate(text):
    import jinja2
    from ansible_collections.tgops.runbooks.plugins.filter.platform_logs import shorten
    expected = jinja2.Environment().from_string('{{ t | truncate(200) }}').render(t=text)
    assert shorten(text) == expected
