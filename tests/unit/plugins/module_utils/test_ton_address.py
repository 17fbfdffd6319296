# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64

import pytest

from ansible_collections.tgops.runbooks.plugins.module_utils._ton_address import (
    AddressError,
    crc16_xmodem,
    parse_address,
)

RAW = '0:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8'
BOUNCEABLE = 'EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N'
NON_BOUNCEABLE = 'UQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqEBI'


def forge(tag, workchain_byte, account=None, crc=None, url_safe=True):
    """Build a 36-byte user-friendly address with a chosen tag/workchain (valid CRC unless given)."""
    account = account or bytes.fromhex(RAW.split(':')[1])
    body = bytes([tag, workchain_byte]) + account
    crc = crc16_xmodem(body) if crc is None else crc
    data = body + bytes([crc >> 8, crc & 0xFF])
    return (base64.urlsafe_b64encode if url_safe else base64.b64encode)(data).decode()


def test_crc16_xmodem_check_value():
    assert crc16_xmodem(b'123456789') == 0x31C3


@pytest.mark.parametrize('text', [RAW, RAW.upper().replace('0:', '0:'), BOUNCEABLE, NON_BOUNCEABLE])
def test_contract_vector_all_forms_agree(text):
    addr = parse_address(text)
    assert addr.raw == RAW
    assert addr.friendly(bounceable=True) == BOUNCEABLE
    assert addr.friendly(bounceable=False) == NON_BOUNCEABLE
    assert addr.workchain == 0


def test_input_flags():
    assert parse_address(BOUNCEABLE).bounceable is True
    assert parse_address(NON_BOUNCEABLE).bounceable is False
    assert parse_address(RAW).bounceable is None
    d = parse_address(BOUNCEABLE).as_dict()
    assert d['input_format'] == 'user_friendly' and d['input_testnet_only'] is False
    assert d['testnet_bounceable'].startswith('kQ') and d['testnet_non_bounceable'].startswith('0Q')


def test_standard_base64_form_is_accepted():
    account = bytes([0xfb, 0xff] * 16)  # gives '+' and '/' in standard base64
    std = forge(0x11, 0, account=account, url_safe=False)
    assert std != forge(0x11, 0, account=account)
    assert parse_address(std).friendly(url_safe=False) == std


def test_masterchain_and_testnet():
    addr = parse_address(forge(0x11 | 0x80, 0xFF))
    assert addr.workchain == -1 and addr.testnet_only is True and addr.bounceable is True
    assert addr.raw.startswith('-1:')
    assert parse_address('-1:' + 'ab' * 32).workchain == -1


def test_tag_decides_not_prefix_text():
    # A non-bounceable tag, whatever the text looks like.
    assert parse_address(forge(0x51, 0)).bounceable is False


@pytest.mark.parametrize('text,kind', [
    ('', 'empty'),
    (BOUNCEABLE[:-1], 'length'),
    (BOUNCEABLE + 'A', 'length'),
    ('0:' + 'a' * 63, 'length'),
    ('0:' + 'g' * 64, 'format'),
    ('x:' + 'a' * 64, 'format'),
    ('1:' + 'a' * 64, 'workchain'),
    ('EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2!', 'base64'),
    ('EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xq+-N', 'base64'),
    ('EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2M', 'crc'),
    ('EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2n', 'crc'),
])
def test_invalid_addresses(text, kind):
    with pytest.raises(AddressError) as exc:
        parse_address(text)
    assert exc.value.kind == kind
    assert exc.value.reason


def test_bad_tag():
    with pytest.raises(AddressError) as exc:
        parse_address(forge(0x12, 0))
    assert exc.value.kind == 'tag'
    assert '0x12' in exc.value.reason


def test_bad_workchain_in_user_friendly():
    with pytest.raises(AddressError) as exc:
        parse_address(forge(0x11, 0x05))
    assert exc.value.kind == 'workchain'
    assert 'workchain 5' in exc.value.reason


def test_bad_crc_message_names_checksum():
    with pytest.raises(AddressError) as exc:
        parse_address(forge(0x11, 0, crc=0x1234))
    assert 'checksum' in exc.value.reason and '0x1234' in exc.value.reason
