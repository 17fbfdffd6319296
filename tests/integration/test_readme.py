"""The README's command lines work as written, from a fresh login shell, after the set-up.

A new user runs `make demo`, then the README's next lines in a new terminal. This test does the same:
every command line of the README's code blocks, in order, in one `bash -l` with a clean environment
(no .venv on PATH, no ANSIBLE_CONFIG), from the checkout. The `make ...` lines are the set-up itself
(the lab is up before integration tests run) and are not repeated. A command that is not found, fails,
or a playbook with a failed or unreachable host fails the test.
"""
import os
import re
import subprocess
import tempfile

import pytest

pytestmark = pytest.mark.lane("both")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)


def readme_commands():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        text = handle.read()
    lines = []
    for block in FENCE.findall(text):
        for line in block.splitlines():
            command = re.sub(r"\s+#.*$", "", line).strip()
            if command and not command.startswith("#"):
                lines.append(command)
    return lines


def fresh_shell(script, extra_env=None, timeout=900):
    env = {"HOME": os.environ.get("HOME", "/root"), "TERM": "dumb", "LANG": "C.UTF-8",
           "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    env.update(extra_env or {})
    return subprocess.run(["env", "-i"] + ["%s=%s" % item for item in env.items()]
                          + ["bash", "-lc", "set -e\ncd %s\n%s" % (ROOT, script)],
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.lane("own")
def test_readme_has_playbook_commands():
    commands = readme_commands()
    assert any(c.startswith("ansible-playbook playbooks/p0_outage.yml") for c in commands), commands


@pytest.mark.lane("own")
def test_a_fresh_shell_has_no_ansible():
    """The premise: the tools are not on a new shell's PATH, so the README must say how to get them."""
    proc = fresh_shell("command -v ansible-playbook || echo not-found")
    assert "not-found" in proc.stdout


def test_readme_commands_from_a_fresh_shell():
    commands = [c for c in readme_commands() if not c.startswith("make ")]
    with tempfile.TemporaryDirectory() as reports:
        script = "\n".join("echo '+ %s'\n%s" % (c.replace("'", ""), c) for c in commands)
        proc = fresh_shell(script, {"TGOPS_REPORT_DIR": reports})
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out[-4000:]
        assert "command not found" not in out, out[-4000:]
        recaps = re.findall(r"^(\S+)\s+: ok=\d+\s+changed=\d+\s+unreachable=(\d+)\s+failed=(\d+)", out, re.M)
        playbook_runs = [c for c in commands if c.startswith("ansible-playbook")]
        assert playbook_runs and len(recaps) >= len(playbook_runs), out[-4000:]
        assert all(unreachable == "0" and failed == "0" for _host, unreachable, failed in recaps), out[-4000:]
        # The README's `--check` on the healthy lab: exit 0 (set -e) and no host said to be down, which is what the
        # AWX workflow's triage node goes by (test_p0_outage.py has the check-mode runs on a broken platform).
        assert "ansible-playbook playbooks/p0_outage.yml --check" in commands, commands
        assert "is down or unhealthy (check mode, nothing changed)" not in out, out[-4000:]
