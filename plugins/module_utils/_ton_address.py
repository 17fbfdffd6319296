# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""TON account addresses (TEP-2): parse, validate and format raw and user-friendly forms (private module_utils).

Raw: ``<workchain>:<64 hex digits>``. User-friendly: 36 bytes in base64url or standard base64 (48 characters):
byte 0 tag (0x11 bounceable, 0x51 non-bounceable, +0x80 testnet-only), byte 1 workchain (int8), bytes 2-33 the
account hash, bytes 34-35 CRC16-XMODEM of bytes 0-33, big-endian. The tag byte decides what a form is, never
the ``EQ``/``UQ`` look of the text.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import binascii
import re

TAG_BOUNCEABLE = 0x11
TAG_NON_BOUNCEABLE = 0x51
TAG_TESTNET = 0x80
WORKCHAINS = (0, -1)

_RAW_RE = re.compile(r'^(-?[0-9]+):([0-9A-Fa-f]*)$')
_B64URL = re.compile(r'^[A-Za-z0-9_-]+$')
_B64STD = re.compile(r'^[A-Za-z0-9+/]+$')


def _shown(text, limit=70):
    """repr of a (possibly hostile, megabytes long) input for a message, bounded."""
    if len(text) > limit:
        return '%r... (%d characters)' % (text[:limit], len(text))
    return repr(text)


class AddressError(ValueError):
    """An address that is not valid. ``kind`` names the check that failed, ``reason`` says why in words."""

    def __init__(self, kind, reason):
        super(AddressError, self).__init__(reason)
        self.kind = kind
        self.reason = reason


def crc16_xmodem(data):
    """CRC16/XMODEM: poly 0x1021, init 0, no reflection, no final xor (check of b'123456789' is 0x31C3)."""
    crc = 0
    for byte in bytearray(data):
        crc ^= byte << 8
        for dummy in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


class TonAddress(object):
    """A parsed address. ``bounceable`` and ``testnet_only`` describe the input form (None for raw input)."""

    def __init__(self, workchain, account, input_text, input_format, bounceable=None, testnet_only=False):
        self.workchain = workchain
        self.account = bytes(account)
        self.input = input_text
        self.input_format = input_format
        self.bounceable = bounceable
        self.testnet_only = testnet_only

    @property
    def raw(self):
        return '%d:%s' % (self.workchain, binascii.hexlify(self.account).decode('ascii'))

    def friendly(self, bounceable=True, testnet=False, url_safe=True):
        tag = TAG_BOUNCEABLE if bounceable else TAG_NON_BOUNCEABLE
        if testnet:
            tag |= TAG_TESTNET
        body = bytearray([tag, self.workchain & 0xFF]) + bytearray(self.account)
        crc = crc16_xmodem(body)
        body += bytearray([crc >> 8, crc & 0xFF])
        encode = base64.urlsafe_b64encode if url_safe else base64.b64encode
        return encode(bytes(body)).decode('ascii')

    def as_dict(self):
        return dict(
            input=self.input,
            input_format=self.input_format,
            input_bounceable=self.bounceable,
            input_testnet_only=self.testnet_only,
            workchain=self.workchain,
            raw=self.raw,
            bounceable=self.friendly(bounceable=True),
            non_bounceable=self.friendly(bounceable=False),
            testnet_bounceable=self.friendly(bounceable=True, testnet=True),
            testnet_non_bounceable=self.friendly(bounceable=False, testnet=True),
        )


def _parse_raw(text):
    match = _RAW_RE.match(text)
    if not match:
        raise AddressError('format', 'raw address %s must be "<workchain>:<64 hex digits>"' % _shown(text))
    if match.group(1) not in ('0', '-1'):
        raise AddressError('workchain', 'address %s has workchain %s; only 0 (basechain) and -1 (masterchain) '
                           'exist' % (_shown(text), _shown(match.group(1), 20)))
    workchain = int(match.group(1))
    digits = match.group(2)
    if len(digits) != 64:
        raise AddressError('length', 'raw address %s must have 64 hex digits after ":", it has %d'
                           % (_shown(text), len(digits)))
    return TonAddress(workchain, binascii.unhexlify(digits), text, 'raw')


def _parse_friendly(text):
    if len(text) != 48:
        raise AddressError('length', 'address %s has %d characters: a user-friendly address has 48, a raw one is '
                           '"<workchain>:<64 hex digits>"' % (_shown(text), len(text)))
    if _B64URL.match(text):
        data = base64.urlsafe_b64decode(text)
    elif _B64STD.match(text):
        data = base64.b64decode(text)
    else:
        bad = sorted(set(c for c in text if not (c.isalnum() and c.isascii()) and c not in '-_+/'))
        if bad:
            what = 'characters outside base64 and base64url (%s)' % ' '.join(repr(c) for c in bad)
        else:
            what = 'both base64url ("-", "_") and standard base64 ("+", "/") characters'
        raise AddressError('base64', 'address %s is not valid base64: it contains %s' % (_shown(text), what))
    if len(data) != 36:  # pragma: no cover - 48 base64 characters always decode to 36 bytes
        raise AddressError('length', 'address %s does not decode to 36 bytes' % _shown(text))
    data = bytearray(data)
    expected = (data[34] << 8) | data[35]
    computed = crc16_xmodem(data[:34])
    if expected != computed:
        raise AddressError('crc', 'address %s fails its checksum (CRC16 0x%04x stored, 0x%04x computed): a typo or '
                           'a truncated copy' % (_shown(text), expected, computed))
    tag = data[0]
    testnet_only = bool(tag & TAG_TESTNET)
    base_tag = tag & ~TAG_TESTNET & 0xFF
    if base_tag not in (TAG_BOUNCEABLE, TAG_NON_BOUNCEABLE):
        raise AddressError('tag', 'address %s has tag byte 0x%02x; expected 0x11 (bounceable), 0x51 '
                           '(non-bounceable), or either plus 0x80 (testnet-only)' % (_shown(text), tag))
    workchain = data[1] - 256 if data[1] > 127 else data[1]
    if workchain not in WORKCHAINS:
        raise AddressError('workchain', 'address %s has workchain %d; only 0 (basechain) and -1 (masterchain) '
                           'exist' % (_shown(text), workchain))
    return TonAddress(workchain, data[2:34], text, 'user_friendly', bounceable=base_tag == TAG_BOUNCEABLE,
                      testnet_only=testnet_only)


def parse_address(text):
    """Parse a raw or user-friendly address; raise :class:`AddressError` with a reason when invalid."""
    if not isinstance(text, str) or not text.strip():
        raise AddressError('empty', 'address is empty')
    text = text.strip()
    if ':' in text:
        return _parse_raw(text)
    return _parse_friendly(text)
