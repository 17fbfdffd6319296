"""Stand-in for pip's get-pip.py bootstrap, which ansible-test downloads from a host this machine
cannot reach. ansible-test runs it in a fresh venv with pip-style arguments (pip==X, options); we
bootstrap pip from the interpreter's own ensurepip, then let pip install what was asked from PyPI.
scripts/sanity.sh copies this file to ~/.ansible/test/cache/get_pip_<version>.py when it is missing.
"""
import ensurepip
import os
import subprocess
import sys

# get-pip.py options that are not pip install options.
_GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}


def main():
    args = [a for a in sys.argv[1:] if a not in _GET_PIP_ONLY]
    ensurepip.bootstrap(upgrade=True)
    # ensurepip points PIP_CONFIG_FILE at /dev/null for itself; the real install needs the machine's
    # pip configuration (index, certificate bundle).
    os.environ.pop("PIP_CONFIG_FILE", None)
    return subprocess.call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    sys.exit(main())
