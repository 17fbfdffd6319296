"""filters compromise_rotation_plan (generated secrets always, issuer-made ones only with a new value, pairs whole),
firewall_summary, compromise_docker_plan, compromise_lockdown_verdict, compromise_sessions_left and
compromise_outcome."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.compromise import (
    compromise_docker_plan, compromise_lockdown_verdict, compromise_outcome, compromise_rotation_plan,
    compromise_sessions_left, firewall_summary)
from ansible_collections.tgops.runbooks.plugins.filter.incident import incident_outcome

TOOGOODTOGO = {name: {'env': name.upper(), 'vault': 'vault_' + name}
               for name in ('db_password', 'secret_key', 'telegram_bot_token', 'stripe_key')}
TGQUIZ = {name: {'env': name.upper(), 'vault': 'vault_' + name}
          for name in ('db_password', 'telegram_bot_token', 'pinata_api_key', 'pinata_secret_key', 'toncenter_api_key')}


def test_generated_secrets_rotate_and_issuer_made_ones_wait_for_their_issuer():
    plan = compromise_rotation_plan(TOOGOODTOGO)
    assert plan['rotate'] == ['secret_key', 'db_password']
    assert plan['pending'] == ['stripe_key', 'telegram_bot_token']
    assert plan['findings'][0] == ('stripe_key not rotated: needs its issuer (Stripe dashboard: roll the key); '
                                   'run again with rotate_secrets_new.stripe_key')


def test_a_given_new_value_joins_the_rotation_in_order():
    plan = compromise_rotation_plan(TOOGOODTOGO, {'telegram_bot_token': 'x', 'stripe_key': 'y'})
    assert plan['rotate'] == ['stripe_key', 'telegram_bot_token', 'secret_key', 'db_password']
    assert plan['pending'] == [] and plan['findings'] == []


def test_half_a_pinata_pair_is_not_rotated():
    assert compromise_rotation_plan(TGQUIZ, {'pinata_api_key': 'k'})['rotate'] == ['db_password']
    both = compromise_rotation_plan(TGQUIZ, {'pinata_api_key': 'k', 'pinata_secret_key': 's'})
    assert both['rotate'] == ['pinata_api_key', 'pinata_secret_key', 'db_password']
    assert both['pending'] == ['toncenter_api_key', 'telegram_bot_token']


def test_bad_input_is_refused_by_name():
    with pytest.raises(AnsibleFilterError, match='does not have: stripe_key'):
        compromise_rotation_plan(TGQUIZ, {'stripe_key': 'y'})
    with pytest.raises(AnsibleFilterError, match='does not know: ssh_key'):
        compromise_rotation_plan({'ssh_key': {}})
    with pytest.raises(AnsibleFilterError, match='expects platform_secrets'):
        compromise_rotation_plan(['db_password'])


def test_firewall_summary_in_words():
    assert firewall_summary({'tool': 'ufw', 'active': True, 'default_incoming': 'deny',
                             'rules': ['22/tcp ALLOW IN Anywhere']}) == 'ufw active, incoming deny (1 rule)'
    assert firewall_summary({'tool': 'ufw', 'active': False, 'default_incoming': None, 'rules': []}) == \
        'ufw inactive (everything allowed)'
    assert firewall_summary({'tool': 'none', 'active': False}) == 'no ufw on the host'
    assert firewall_summary({}) == 'firewall not read' and firewall_summary(None) == 'firewall not read'


# Docker 20.10's nat table with two published ports (8080/tcp, 53/udp) and the SSH port published by a container.
NAT = '\n'.join([
    '-P PREROUTING ACCEPT',
    '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
    '-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE',
    '-A DOCKER -i docker0 -j RETURN',
    '-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80',
    '-A DOCKER ! -i docker0 -p udp -m udp --dport 53 -j DNAT --to-destination 172.17.0.3:53',
    '-A DOCKER ! -i br-1a2b -p tcp -m tcp --dport 2222 -j DNAT --to-destination 172.18.0.2:22',
    '-A DOCKER ! -i br-1a2b -p tcp -m tcp --dport 9443 -j DNAT --to-destination 172.18.0.2:443',
])


def test_docker_plan_closes_every_published_port_but_ssh_from_the_admins_and_the_kept_ones():
    plan = compromise_docker_plan(NAT, 2222, ['192.0.2.10', '198.51.100.0/24', '2001:db8::1'], [9443], [5432])
    assert plan['published'] == [2222, 8080, 9443]
    assert plan['probe_closed'] == [5432, 8080]  # SSH and the kept port are probed as open or not at all
    assert plan['rules'] == [
        '-A DOCKER-USER -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN',
        '-A DOCKER-USER -i docker0 -j RETURN',
        '-A DOCKER-USER -i br-+ -j RETURN',
        '-A DOCKER-USER -s 192.0.2.10/32 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 2222 -j RETURN',
        '-A DOCKER-USER -s 198.51.100.0/24 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 2222 -j RETURN',
        '-A DOCKER-USER -p tcp -m conntrack --ctstate DNAT --ctorigdstport 9443 -j RETURN',
        '-A DOCKER-USER -p tcp -m conntrack --ctstate DNAT -j REJECT --reject-with tcp-reset',
        '-A DOCKER-USER -m conntrack --ctstate DNAT -j REJECT',
        '-A DOCKER-USER -j RETURN',
    ]
    # Nothing published, SSH kept for any source on request.
    anyone = compromise_docker_plan('', 22, ['any'])
    assert anyone['published'] == [] and anyone['probe_closed'] == []
    assert '-A DOCKER-USER -p tcp -m conntrack --ctstate DNAT --ctorigdstport 22 -j RETURN' in anyone['rules']


def test_docker_plan_refuses_an_open_ssh_and_bad_values_by_name():
    with pytest.raises(AnsibleFilterError, match=r'compromise_firewall_ssh_from is empty: .*platform_admin_sources.*\[any\]'):
        compromise_docker_plan(NAT, 22, [])
    with pytest.raises(AnsibleFilterError, match=r"compromise_firewall_ssh_from: '10.0.0.1 -j ACCEPT' is neither"):
        compromise_docker_plan(NAT, 22, ['10.0.0.1 -j ACCEPT'])  # no rule text from a variable
    with pytest.raises(AnsibleFilterError, match=r"compromise_firewall_keep_open: '443 -j ACCEPT' is not a TCP port"):
        compromise_docker_plan(NAT, 22, ['any'], ['443 -j ACCEPT'])
    with pytest.raises(AnsibleFilterError, match=r'compromise_firewall_ssh_port: 0 is not a TCP port'):
        compromise_docker_plan(NAT, 0, ['any'])
    with pytest.raises(AnsibleFilterError, match=r'compromise_probe_ports: True is not a TCP port'):
        compromise_docker_plan(NAT, 22, ['any'], [], [True])
    with pytest.raises(AnsibleFilterError, match=r'iptables -t nat -S'):
        compromise_docker_plan(None, 22, ['any'])


def test_lockdown_verdict_holds_only_with_ssh_answering_and_nothing_else():
    ssh = dict(port=22, open=True, detail='answered')
    closed = dict(port=8080, open=False, detail='closed without data')
    held = compromise_lockdown_verdict([closed, ssh], 22)
    assert held == dict(ok=True, open=[], ssh=True, summary='SSH (port 22) answers; closed from outside: 8080')
    leak = compromise_lockdown_verdict([dict(port=8080, open=True, detail='silent'), ssh], 22)
    assert not leak['ok'] and leak['open'] == [8080]
    assert leak['summary'] == 'still answering from outside: 8080'
    cut = compromise_lockdown_verdict([closed, dict(port=22, open=False, detail='timed out')], 22)
    assert not cut['ok'] and cut['summary'] == 'SSH (port 22) no longer answers: timed out'
    assert not compromise_lockdown_verdict([closed], 22)['ok']  # SSH not probed is not SSH working
    with pytest.raises(AnsibleFilterError, match='tcp_probe'):
        compromise_lockdown_verdict([{'port': 22}], 22)


def test_sessions_left_names_the_unknown_ones_but_the_check_itself():
    sessions = [dict(pid=10, user='root', tty='pts/0', source='203.0.113.9', started='2026-12-07T08:00:00+00:00',
                     known=False, current=False),
                dict(pid=11, user='root', tty='notty', source='192.0.2.10', started='x', known=False, current=True),
                dict(pid=12, user='ops', tty='pts/1', source='192.0.2.10', started='x', known=True, current=False),
                dict(pid=13, user='www', tty='pts/2', source=None, started='y', known=False, current=False)]
    assert compromise_sessions_left(sessions) == [
        'root on pts/0 from 203.0.113.9 (sshd pid 10, since 2026-12-07T08:00:00+00:00)',
        'www on pts/2 from an unknown address (sshd pid 13, since y)']
    assert compromise_sessions_left([]) == []
    with pytest.raises(AnsibleFilterError, match='sessions'):
        compromise_sessions_left('root')


UFW_DENY = {'tool': 'ufw', 'active': True, 'default_incoming': 'deny', 'rules': ['22/tcp ALLOW IN 10.0.0.1']}
UFW_OFF = {'tool': 'ufw', 'active': False, 'default_incoming': None, 'rules': []}
CONTACT = ('Contact the security team with this report; power the server off from the provider console if it need '
           'not stay online')


def test_firewall_summary_describes_the_read_after_the_lockdown_when_there_was_one():
    assert firewall_summary(UFW_OFF, {'changed': False, 'firewall': UFW_DENY}) == 'ufw active, incoming deny (1 rule)'
    assert firewall_summary(UFW_OFF, {'skipped': True}) == 'ufw inactive (everything allowed)'
    assert firewall_summary(UFW_OFF, None) == 'ufw inactive (everything allowed)'
    assert firewall_summary({}, {'skipped': True}) == 'firewall not read'


LOGINS = {'log': '/var/log/auth.log', 'logins': [{'user': 'root'}, {'user': 'deploy'}], 'sessions': [{'pid': 1}],
          'findings': ['5 failed login attempts from 203.0.113.9 (users: root)']}


def test_the_evidence_is_the_timeline_event_and_the_report_is_never_resolved():
    got = compromise_outcome({'logins': LOGINS, 'findings': LOGINS['findings'] + ['stripe_key not rotated'],
                              'actions': ['Firewall: ufw enabled'], 'firewall_before': {'firewall': UFW_OFF}})
    assert got == {'findings': LOGINS['findings'] + ['stripe_key not rotated', CONTACT], 'errors': [], 'impacted': [],
                   'actions': ['Firewall: ufw enabled'], 'health_before': 'ufw inactive (everything allowed)',
                   'resolved': False, 'wait': False,
                   'summary': 'Evidence (/var/log/auth.log, 2 logins, 1 open sessions): 5 failed login attempts from '
                              '203.0.113.9 (users: root)'}
    report = incident_outcome(got, healthy=True, health_status='ufw active, incoming deny (1 rule)')
    assert report['status'] == 'Investigating' and report['health_after'] == 'ufw active, incoming deny (1 rule)'
    assert report['findings'][-1] == CONTACT and report['report_actions'] == ['Firewall: ufw enabled']
    assert incident_outcome(got, check_mode=True)['report_actions'][-1] == 'Check mode: nothing was changed'


def test_nothing_suspicious_and_no_auth_log_are_said():
    quiet = dict(LOGINS, log='', findings=[])
    got = compromise_outcome({'logins': quiet, 'findings': [], 'actions': [], 'firewall_before': {'firewall': {}}})
    assert got['summary'] == 'Evidence (no auth log, 2 logins, 1 open sessions): nothing suspicious found'
    assert got['findings'] == [CONTACT] and got['health_before'] == 'firewall not read'


def test_a_run_stopped_before_the_evidence_still_says_to_contact_the_security_team():
    for read in ({}, {'logins': None, 'findings': None, 'actions': None, 'firewall_before': None}):
        got = compromise_outcome(read)
        assert got['findings'] == ['evidence collection did not complete', CONTACT]
        assert got['summary'] == '' and got['actions'] == [] and got['health_before'] == 'firewall not read'
        assert incident_outcome(got, health_status='firewall not read')['status'] == 'Investigating'


@pytest.mark.parametrize('bad, words', [
    ([], 'expects a dict'),
    ({'logins': 'x'}, 'logins must be a registered result'),
    ({'firewall_before': ['x']}, 'firewall_before must be a registered result'),
    ({'findings': 'x'}, 'findings must be a list of sentences'),
    ({'actions': {}}, 'actions must be a list of sentences'),
])
def test_outcome_bad_input_is_named(bad, words):
    with pytest.raises(AnsibleFilterError, match=words):
        compromise_outcome(bad)
