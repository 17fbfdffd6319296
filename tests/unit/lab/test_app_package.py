"""The reference application runs on Debian bookworm's python3 packages only: no PyPI inside the image."""
import ast
import os
import re
import sys

from _app_fixtures import APP_DIR

ALLOWED_THIRD_PARTY = {"sqlalchemy", "alembic", "psycopg2", "redis", "requests"}  # python3-* from Debian
LOCAL = {"app", "src"}


def python_files():
    for root, dirs, files in os.walk(APP_DIR):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                yield os.path.join(root, name)


def test_every_import_is_stdlib_or_a_debian_package():
    offenders = {}
    for path in python_files():
        tree = ast.parse(open(path, encoding="utf-8").read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [n.name for n in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ALLOWED_THIRD_PARTY and top not in LOCAL:
                    offenders.setdefault(os.path.relpath(path, APP_DIR), []).append(name)
    assert offenders == {}


def test_dockerfile_builds_offline_from_the_runtime_and_keeps_secrets_out():
    text = open(os.path.join(APP_DIR, "Dockerfile"), encoding="utf-8").read()
    instructions = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert instructions[0] == "FROM tgops-lab/runtime:latest"
    assert not re.search(r"\b(apt-get|apt|pip3?)\b\s+install", text)
    copies = [line for line in instructions if line.startswith("COPY")]
    assert copies and all(" . " not in line and not line.startswith("COPY .") for line in copies)
    assert "ENV PYTHONUNBUFFERED=1" in text
    assert 'CMD ["python3", "-m", "app.api"]' in text
    dockerignore = open(os.path.join(APP_DIR, ".dockerignore"), encoding="utf-8").read().split()
    assert ".env*" in dockerignore


def test_version_file_is_a_release_tag():
    version = open(os.path.join(APP_DIR, "VERSION"), encoding="utf-8").read()
    assert re.fullmatch(r"v\d+\.\d+\.\d+\n", version)
