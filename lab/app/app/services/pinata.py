"""Pinata: ``POST {api_url}/pinning/pinJSONToIPFS`` with pinata_api_key / pinata_secret_api_key."""
import requests


class PinataError(Exception):
    def __init__(self, status, message, retry_after=None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def _reason(resp):
    try:
        body = resp.json()
    except ValueError:
        return (resp.text or resp.reason or "").strip()[:120]
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        return " ".join(str(err.get(k)) for k in ("reason", "details") if err.get(k))
    return str(err or body)[:120]


def pin_json(api_url, api_key, secret_key, content, name, session=None, timeout=15.0):
    """Pin ``content``; return its IpfsHash or raise PinataError."""
    if not api_key or not secret_key:
        raise PinataError(0, "PINATA_API_KEY / PINATA_SECRET_KEY are not set")
    headers = {"pinata_api_key": api_key, "pinata_secret_api_key": secret_key}
    payload = {"pinataContent": content, "pinataMetadata": {"name": name}}
    try:
        resp = (session or requests).post("%s/pinning/pinJSONToIPFS" % api_url.rstrip("/"), json=payload,
                                          headers=headers, timeout=timeout)
    except requests.RequestException as err:
        raise PinataError(0, "Pinata unreachable: %s" % type(err).__name__) from None
    if resp.status_code == 200:
        try:
            ipfs_hash = resp.json()["IpfsHash"]
        except (ValueError, KeyError, TypeError):
            raise PinataError(200, "Pinata answered without IpfsHash") from None
        if isinstance(ipfs_hash, str) and ipfs_hash:
            return ipfs_hash
        raise PinataError(200, "Pinata answered without IpfsHash")
    if resp.status_code in (401, 403):
        raise PinataError(resp.status_code, "Pinata rejected the credentials (%d %s)" % (resp.status_code, _reason(resp)))
    if resp.status_code == 429:
        retry_after = resp.headers.get("Retry-After")
        raise PinataError(429, "Pinata rate limited (429, Retry-After %s)" % (retry_after or "?"),
                          int(retry_after) if (retry_after or "").isdigit() else None)
    raise PinataError(resp.status_code, "Pinata error %d: %s" % (resp.status_code, _reason(resp)))
