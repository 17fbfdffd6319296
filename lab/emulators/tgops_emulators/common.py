"""Shared plumbing: the HTTP server, request parsing, JSON answers, rate limiting, logging.

Each emulator is an ``Emulator`` subclass holding all of its state in memory behind one lock. The
server hands every request to ``handle`` (the emulated API) or ``control`` (``/_control/...``, the
lab's own API). Python 3.11 standard library only: the emulator image has nothing else.
"""
import collections
import email.parser
import email.policy
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 16 * 1024 * 1024
CONTROL_PREFIX = "/_control/"


class Request:
    """One parsed HTTP request; ``path`` is percent-decoded, ``raw_path`` is as sent."""

    def __init__(self, method, raw_target, headers, body, client_ip):
        self.method = method
        split = urllib.parse.urlsplit(raw_target)
        self.raw_path = split.path
        self.path = urllib.parse.unquote(split.path)
        self.query_string = split.query
        self.query = {k: v[0] for k, v in urllib.parse.parse_qs(split.query, keep_blank_values=True).items()}
        self.headers = headers
        self.body = body
        self.client_ip = client_ip

    @property
    def content_type(self):
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def json_body(self):
        """The body as JSON (``{}`` when empty); ValueError when it is not JSON."""
        if not self.body.strip():
            return {}
        return json.loads(self.body.decode("utf-8"))


class Response:
    def __init__(self, status, body, headers=None):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def json_response(status, obj, headers=None):
    return Response(status, obj, headers)


class ControlError(Exception):
    """A bad control request: answered as ``{"ok": false, "error": msg}`` with ``status``."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def control_json(req):
    """The control request's JSON object body, or a 400 ControlError."""
    try:
        data = req.json_body()
    except ValueError as exc:
        raise ControlError(400, "body is not JSON: %s" % exc)
    if not isinstance(data, dict):
        raise ControlError(400, "body must be a JSON object")
    return data


def parse_form_params(req):
    """Merge query string, form-urlencoded, JSON and multipart parameters, as the Bot API does.

    Values become strings (JSON arrays/objects are re-serialised, booleans become true/false), so
    every method parses one representation. Uploaded files land in the second dict as
    ``{name: (filename, bytes)}``. ValueError on a body that cannot be parsed.
    """
    params = dict(req.query)
    files = {}
    ctype = req.content_type
    if not req.body:
        return params, files
    if ctype == "application/json":
        data = json.loads(req.body.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("JSON body must be an object")
        for key, value in data.items():
            if value is None:
                continue
            if isinstance(value, str):
                params[key] = value
            else:
                params[key] = json.dumps(value)
    elif ctype == "application/x-www-form-urlencoded":
        form = urllib.parse.parse_qs(req.body.decode("utf-8"), keep_blank_values=True)
        params.update({k: v[0] for k, v in form.items()})
    elif ctype == "multipart/form-data":
        header = "Content-Type: %s\r\nMIME-Version: 1.0\r\n\r\n" % req.headers.get("Content-Type")
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header.encode("latin-1") + req.body)
        if not msg.is_multipart():
            raise ValueError("bad multipart body")
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not name:
                continue
            payload = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            if filename is not None:
                files[name] = (filename, payload)
            else:
                params[name] = payload.decode(part.get_content_charset() or "utf-8")
    return params, files


class SlidingWindow:
    """``limit`` hits per ``window`` seconds per key; the caller holds the emulator lock."""

    def __init__(self, limit, window):
        self.limit = limit
        self.window = window
        self._hits = collections.defaultdict(collections.deque)

    def status(self, key, now=None):
        """(allowed, remaining, reset_at) for one more hit now, without counting it."""
        now = time.time() if now is None else now
        hits = self._hits[key]
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        reset_at = (hits[0] if hits else now) + self.window
        return len(hits) < self.limit, max(self.limit - len(hits), 0), reset_at

    def add(self, key, now=None):
        self._hits[key].append(time.time() if now is None else now)

    def hit(self, key, now=None):
        """Count one hit when allowed; return (allowed, remaining after it, reset_at)."""
        now = time.time() if now is None else now
        allowed, remaining, reset_at = self.status(key, now)
        if allowed:
            self.add(key, now)
            remaining -= 1
        return allowed, remaining, reset_at

    def reset(self):
        self._hits.clear()


class Emulator:
    """Base class: state lives on the instance, guarded by ``self.lock``."""

    name = "emulator"

    def __init__(self, seed=None):
        self.lock = threading.RLock()
        self.seed = seed or {}
        self.reset()

    def reset(self):
        """Drop all state and apply the seed again (``POST /_control/reset``)."""
        with self.lock:
            self.reset_state()
            self.apply_seed(self.seed)

    def reset_state(self):
        raise NotImplementedError

    def apply_seed(self, seed):
        raise NotImplementedError

    def handle(self, req):
        raise NotImplementedError

    def control(self, req, parts):
        """``parts`` is the path under /_control/ split on '/'. Return a Response or None (404)."""
        return None

    def mask(self, req):
        """The request target as it may be logged: no tokens, no keys."""
        return req.raw_path

    def internal_error(self):
        return json_response(500, {"ok": False, "error": "internal emulator error"})

    def dispatch(self, req):
        if req.path.startswith(CONTROL_PREFIX) or req.path == CONTROL_PREFIX.rstrip("/"):
            return self._control(req)
        return self.handle(req)

    def revoke_key(self, req, keys):
        """``POST /_control/keys/revoke {"key": ...}``: mark one of ``keys`` (key -> entry dict) revoked."""
        data = control_json(req)
        with self.lock:
            entry = keys.get(data.get("key"))
            if entry is None:
                raise ControlError(404, "no such key")
            entry["revoked"] = True
        return json_response(200, {"ok": True})

    def _control(self, req):
        parts = [p for p in req.path[len(CONTROL_PREFIX):].split("/") if p]
        try:
            if parts == ["health"]:
                return json_response(200, {"ok": True})
            if parts == ["reset"] and req.method == "POST":
                self.reset()
                return json_response(200, {"ok": True})
            resp = self.control(req, parts)
        except ControlError as exc:
            return json_response(exc.status, {"ok": False, "error": exc.message})
        if resp is None:
            return json_response(404, {"ok": False, "error": "no such control route: %s %s" % (req.method, req.path)})
        return resp


def mask_query(query_string, secret_names):
    """Replace the values of secret query parameters with ***."""
    if not query_string:
        return ""
    out = []
    for key, value in urllib.parse.parse_qsl(query_string, keep_blank_values=True):
        out.append((key, "***" if key.lower() in secret_names else value))
    return "?" + urllib.parse.urlencode(out, safe="*:/")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tgops-emulator"
    sys_version = ""

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # Trailer section ends with an empty line.
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self):
        app = self.server.app
        started = time.monotonic()
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._send(Response(413, {"ok": False, "error": "request body too large or malformed"}))
            return
        req = Request(self.command, self.path, self.headers, body, self.client_address[0])
        try:
            resp = app.dispatch(req)
        except Exception as exc:  # An emulator bug must answer, not hang the client.
            sys.stderr.write("%s internal error: %s: %s\n" % (app.name, type(exc).__name__, exc))
            resp = app.internal_error()
        # Logged before answering, so the line exists by the time the client sees the answer.
        sys.stderr.write('%s %s "%s %s" %d %.1fms\n' % (
            app.name, req.client_ip, req.method, app.mask(req), resp.status,
            (time.monotonic() - started) * 1000))
        sys.stderr.flush()
        self._send(resp)

    def _send(self, resp):
        payload = b"" if resp.body is None else json.dumps(resp.body, separators=(",", ":")).encode("utf-8")
        self.send_response(resp.status)
        headers = {"Content-Type": "application/json", "Content-Length": str(len(payload))}
        headers.update(resp.headers)
        for key, value in headers.items():
            self.send_header(key, str(value))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch

    # BaseHTTPRequestHandler would log the raw request line, which carries bot tokens and api_key
    # query parameters: our own line in _dispatch is the only per-request log.
    def log_request(self, code="-", size="-"):
        pass

    def log_error(self, format, *args):
        sys.stderr.write("%s %s protocol error (request line not logged)\n" % (
            self.server.app.name, self.client_address[0]))

    def log_message(self, format, *args):
        pass


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, app, bind, port):
        self.app = app
        super().__init__((bind, port), _Handler)


def make_server(app, bind="127.0.0.1", port=0):
    return EmulatorServer(app, bind, port)
