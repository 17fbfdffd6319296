"""Container health checks: ``python3 -m app.healthcheck api|bot`` exits 0 (healthy) or 1.

api: GET http://127.0.0.1:$PORT/health answers and its status is not "unhealthy" (degraded passes).
bot: the heartbeat file (BOT_HEARTBEAT_FILE, default /tmp/bot-heartbeat) is younger than 60 s.
Needs no secrets: it does not load the application's configuration.
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

MAX_HEARTBEAT_AGE = 60


def check_api(port=None, timeout=4.0):
    port = port or os.environ.get("PORT") or "8000"
    url = "http://127.0.0.1:%s/health" % port
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            body = json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as err:
        try:
            body = json.loads(err.read().decode("utf-8"))
        except ValueError:
            body = {}
        return False, "HTTP %d status=%s" % (err.code, body.get("status"))
    except (OSError, ValueError) as err:
        return False, "no answer from %s: %s" % (url, type(err).__name__)
    status = body.get("status")
    return status in ("healthy", "degraded"), "status=%s" % status


def check_bot(path=None, now=None):
    path = path or os.environ.get("BOT_HEARTBEAT_FILE", "/tmp/bot-heartbeat")
    now = time.time() if now is None else now
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        ts, state = float(data["ts"]), data.get("state", "?")
    except FileNotFoundError:
        return False, "no heartbeat file %s" % path
    except (OSError, ValueError, KeyError, TypeError):
        try:
            ts, state = os.stat(path).st_mtime, "?"
        except OSError:
            return False, "unreadable heartbeat file %s" % path
    age = now - ts
    return age < MAX_HEARTBEAT_AGE, "heartbeat %ds old, state=%s" % (int(age), state)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in ("api", "bot"):
        sys.stderr.write("usage: python3 -m app.healthcheck api|bot\n")
        return 2
    ok, detail = check_api() if argv[0] == "api" else check_bot()
    print("%s: %s" % ("healthy" if ok else "unhealthy", detail))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
