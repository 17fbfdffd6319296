"""toncenter HTTP API v2 (getAddressBalance) and TON address checks (TEP-2). Errors never carry the key."""
import base64
import binascii
import re

import requests

_RAW = re.compile(r"^(0|-1):[0-9a-fA-F]{64}$")
NANOTONS = 10 ** 9


class TonCenterError(Exception):
    def __init__(self, code, message):
        super().__init__("%s (code %s)" % (message, code))
        self.code = code
        self.message = message


def crc16_xmodem(data):
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _bit in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def valid_address(address):
    """Raw ``wc:hex64`` or 48-char user-friendly (tag 0x11/0x51 [+0x80], CRC16-XMODEM checked)."""
    if not isinstance(address, str):
        return False
    if _RAW.match(address):
        return True
    if len(address) != 48:
        return False
    try:
        data = base64.urlsafe_b64decode(address.replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError):
        return False
    if len(data) != 36 or (data[0] & 0x7F) not in (0x11, 0x51) or data[1] not in (0x00, 0xFF):
        return False
    return int.from_bytes(data[34:36], "big") == crc16_xmodem(data[:34])


def get_address_balance(api_url, api_key, address, session=None, timeout=10.0):
    """Balance in nanotons (int) from ``GET {api_url}/getAddressBalance?address=...``."""
    if not valid_address(address):
        raise TonCenterError(0, "invalid TON address %r" % (address,))
    headers = {"X-API-Key": api_key} if api_key else {}
    try:
        resp = (session or requests).get("%s/getAddressBalance" % api_url.rstrip("/"),
                                         params={"address": address}, headers=headers, timeout=timeout)
    except requests.RequestException as err:
        raise TonCenterError(0, "toncenter unreachable: %s" % type(err).__name__) from None
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = body.get("code", resp.status_code)
    if resp.status_code == 429 or code == 429:
        raise TonCenterError(429, "toncenter rate limited: %s" % (body.get("error") or body.get("result") or "429"))
    if resp.status_code == 200 and body.get("ok") is True:
        try:
            return int(body["result"])
        except (KeyError, TypeError, ValueError):
            raise TonCenterError(resp.status_code, "unexpected getAddressBalance result") from None
    message = body.get("error") or body.get("result") or resp.reason or "error"
    raise TonCenterError(code if isinstance(code, int) else resp.status_code, "toncenter: %s" % message)
