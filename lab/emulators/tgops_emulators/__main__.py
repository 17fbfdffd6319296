"""``python3 -m tgops_emulators <name> --port P --bind ADDR [--seed FILE]``: run one emulator."""
import argparse
import json
import os
import signal
import sys

from . import EMULATORS, create_app
from .common import ControlError, make_server


def load_seed(path):
    """The seed: ``--seed FILE`` when given, else the EMULATOR_SEED variable (JSON text), else empty."""
    if path:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    else:
        text = os.environ.get("EMULATOR_SEED", "")
    if not text.strip():
        return {}
    seed = json.loads(text)
    if not isinstance(seed, dict):
        raise ValueError("the seed must be a JSON object")
    return seed


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m tgops_emulators", description=__doc__)
    parser.add_argument("name", choices=EMULATORS)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--seed", help="JSON seed file (default: $EMULATOR_SEED)")
    args = parser.parse_args(argv)
    try:
        app = create_app(args.name, load_seed(args.seed))
    except (OSError, ValueError, ControlError) as exc:
        parser.exit(2, "%s: bad seed or configuration: %s\n" % (args.name, getattr(exc, "message", exc)))
    server = make_server(app, args.bind, args.port)

    # As PID 1 in a container, SIGTERM is ignored unless handled: make `docker stop` quick.
    def _stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    sys.stderr.write("%s emulator listening on %s:%d\n" % (args.name, args.bind, server.server_address[1]))
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
