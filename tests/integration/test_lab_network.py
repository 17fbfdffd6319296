"""The two platforms' containers cannot reach each other by name, and each public URL answers from its
own platform, also after both apps were killed and started again at once (their nginx re-resolves the
upstream through Docker's DNS instead of keeping the address it saw at start)."""
import json
import os
import subprocess
import time

import pytest
import requests

from conftest import STATE

pytestmark = pytest.mark.lane("both")

DOCKER = "/usr/bin/docker"
PUBLIC = {"tgquiz": "https://127.0.0.1:18443/health", "toogoodtogo": "https://127.0.0.1:28443/health"}
APP = {"tgquiz": "backend-api", "toogoodtogo": "bot"}
OTHER = {"tgquiz": "toogoodtogo", "toogoodtogo": "tgquiz"}


def docker(*args, check=True, timeout=60):
    proc = subprocess.run([DOCKER] + list(args), capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("docker %s failed (%d): %s" % (" ".join(args), proc.returncode, proc.stderr))
    return proc.stdout


def containers(platform, service=None):
    """The running containers of a platform's compose project (optionally one service)."""
    argv = ["ps", "-q", "--filter", "label=com.docker.compose.project=%s" % platform]
    if service:
        argv += ["--filter", "label=com.docker.compose.service=%s" % service]
    ids = docker(*argv).split()
    assert ids, "no running container of %s %s" % (platform, service or "")
    return ids


def inspect(ids):
    return json.loads(docker("inspect", *ids))


def names_and_addresses(platform):
    """Every name a container of the platform answers to on any network (container name, service name,
    network aliases) and every address it holds."""
    names, addresses = set(), set()
    for c in inspect(containers(platform)):
        names.add(c["Name"].lstrip("/"))
        names.add(c["Config"]["Labels"]["com.docker.compose.service"])
        for net in c["NetworkSettings"]["Networks"].values():
            names.update(a for a in net.get("Aliases") or [] if len(a) != 12)  # skip the short-id alias
            if net.get("IPAddress"):
                addresses.add(net["IPAddress"])
    return names, addresses


def resolve(container, names):
    """name -> set of IPv4 addresses, as the container's resolver (Docker's DNS) answers."""
    script = 'for n in "$@"; do printf "%s" "$n"; getent ahostsv4 "$n" | awk \'{printf " %s", $1}\'; echo; done'
    out = docker("exec", container, "sh", "-c", script, "sh", *sorted(names))
    return {line.split()[0]: set(line.split()[1:]) for line in out.splitlines() if line.strip()}


@pytest.mark.parametrize("platform", ["tgquiz", "toogoodtogo"])
def test_no_name_of_the_other_platform_resolves_to_its_containers(platform):
    other_names, other_addresses = names_and_addresses(OTHER[platform])
    for cid in containers(platform):
        answers = resolve(cid, other_names)
        leaked = {n: sorted(a & other_addresses) for n, a in answers.items() if a & other_addresses}
        assert not leaked, "%s container %s reaches %s by name: %r" % (platform, cid[:12], OTHER[platform], leaked)


def test_the_emulators_reach_both_platforms_and_the_apps_reach_the_emulators():
    telegram = docker("ps", "-q", "--filter", "label=com.docker.compose.project=tgops-lab",
                      "--filter", "label=com.docker.compose.service=telegram-api").split()
    assert telegram, "the Telegram emulator is not running"
    _names, tgquiz_addresses = names_and_addresses("tgquiz")
    _names, toogoodtogo_addresses = names_and_addresses("toogoodtogo")
    answers = resolve(telegram[0], {"tgquiz.lab", "toogoodtogo.lab"})
    assert answers["tgquiz.lab"] and answers["tgquiz.lab"] <= tgquiz_addresses, answers
    assert answers["toogoodtogo.lab"] and answers["toogoodtogo.lab"] <= toogoodtogo_addresses, answers
    for platform in ("tgquiz", "toogoodtogo"):
        assert resolve(containers(platform, APP[platform])[0], {"telegram-api"})["telegram-api"], platform


def public_health(platform):
    """(status code, platform named by /health) through nginx, or (None, error)."""
    try:
        r = requests.get(PUBLIC[platform], verify=os.path.join(STATE, "ca", "ca.crt"), timeout=5)
    except requests.RequestException as exc:
        return None, type(exc).__name__
    try:
        return r.status_code, r.json().get("platform")
    except ValueError:
        return r.status_code, None


def move_to_new_addresses(container):
    """Give a stopped container new addresses on all its networks (as a recreated container gets),
    keeping its aliases; returns (old, new) address sets."""
    info = inspect([container])[0]
    networks = info["NetworkSettings"]["Networks"]
    old = {net["IPAddress"] for net in networks.values()}
    for name, net in networks.items():
        aliases = [a for a in net.get("Aliases") or [] if not info["Id"].startswith(a)]
        docker("network", "disconnect", name, container)
        docker("network", "connect", *[arg for a in aliases for arg in ("--alias", a)], name, container)
    return old


def addresses(container):
    return {net["IPAddress"] for net in inspect([container])[0]["NetworkSettings"]["Networks"].values()}


@pytest.mark.parametrize("cycle", range(4))
def test_public_urls_answer_from_their_own_platform_after_both_apps_restart(cycle):
    """Cycles 0 and 1: kill and start both apps at once (they usually keep their addresses). Cycles 2
    and 3: the apps also come back on new addresses, which nginx finds only if it asks the DNS again."""
    apps = {p: containers(p, APP[p])[0] for p in PUBLIC}
    for platform in PUBLIC:
        assert public_health(platform) == (200, platform)
    docker("kill", *apps.values())
    # Ask nginx while the apps are down too: a failed lookup must not stick either.
    for platform in PUBLIC:
        assert public_health(platform)[0] != 200
    if cycle >= 2:
        old = {p: move_to_new_addresses(c) for p, c in apps.items()}
    docker("start", *apps.values())
    if cycle >= 2:
        for platform, container in apps.items():
            assert not addresses(container) & old[platform], "%s kept an address; the cycle proves nothing" % platform
    seen = {p: [] for p in PUBLIC}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for platform in PUBLIC:
            answer = public_health(platform)
            seen[platform].append(answer)
            # Never an answer from the other platform's app, whatever the moment.
            assert answer[1] in (None, platform), "cycle %d: %s answered from %s: %r" % (
                cycle, PUBLIC[platform], answer[1], seen[platform][-5:])
        if all(seen[p][-1] == (200, p) for p in PUBLIC):
            break
        time.sleep(0.25)
    assert all(seen[p][-1] == (200, p) for p in PUBLIC), "cycle %d: %r" % (cycle, {p: s[-5:] for p, s in seen.items()})
