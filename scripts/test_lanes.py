"""`make test`: every check of the project, side by side wherever nothing is shared.

Phases (each job writes its own log in .build/test-logs/; a job's log is printed whole when the job ends):

1. `static` (ansible-lint, changelog and docs lint, unit tests, ansible-test sanity) and `lab` (Docker
   engine, images, lab) start together: the static checks need neither the engine nor the lab.
2. When the lab is ready, the `both` lane: the integration tests that need both platforms at baseline
   or disturb both (tests/integration/conftest.py says which lane a test is in), then the molecule
   scenarios whose platforms are both servers. Beside it, the `own` lane (resources of its own: a
   throw-away host, the S3 server, the controller, bots of its own on the emulators) and the build of
   the execution environment's image.
3. Then the `tgquiz` and `toogoodtogo` lanes side by side: each platform's tests and scenarios touch
   only that platform.

Jobs off the critical path (lab, `both`, `toogoodtogo`) run at a lower CPU priority (nice).

Every job runs to its end whatever the others do; the driver fails at the end if any step failed, and
prints each job's wall time and each step's result.

Usage: python scripts/test_lanes.py [--skip static] [--only-lane NAME ...]
"""
import argparse
import glob
import os
import subprocess
import sys
import threading
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOGS = os.path.join(ROOT, ".build", "test-logs")
BIN = os.path.join(ROOT, ".venv", "bin")
PLATFORM_HOSTS = {"tgquiz-lab": "tgquiz", "toogoodtogo-lab": "toogoodtogo"}
# Scenarios whose lane is not their platforms': checks installs and removes only the checks' own schedule
# (timers, a cron file) on both servers, which no other test reads.
SCENARIO_LANE = {"checks": "own"}
PRINT_LOCK = threading.Lock()


def scenario_lanes():
    """Scenario name -> lane, from each molecule.yml's platforms: one lab server's scenario runs in its lane."""
    lanes = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "molecule", "*", "molecule.yml"))):
        with open(path, encoding="utf-8") as handle:
            platforms = {p["name"] for p in yaml.safe_load(handle).get("platforms") or []}
        touched = {PLATFORM_HOSTS.get(name, "own") for name in platforms}
        name = os.path.basename(os.path.dirname(path))
        lanes[name] = SCENARIO_LANE.get(name) or (touched.pop() if len(touched) == 1 else "both")
    return lanes


class Job(threading.Thread):
    """Steps run one after another, output to one log. A failed step does not stop the next, except in the lab job:
    the lanes after it would only fail for want of a lab."""

    def __init__(self, name, steps, nice=0):
        super().__init__(name=name, daemon=True)
        # A lower priority for what is not on the critical path (lab, both, toogoodtogo): the machine has 2 cores.
        self.steps = [(label, ["nice", "-n", str(nice)] + argv if nice else argv) for label, argv in steps]
        self.log = os.path.join(LOGS, "%s.log" % name)
        self.results = []
        self.wall = None
        self.stop_on_failure = name == "lab"

    def run(self):
        started = time.monotonic()
        with open(self.log, "w", encoding="utf-8") as log:
            for label, argv in self.steps:
                log.write("### %s: %s\n" % (label, " ".join(argv)))
                log.flush()
                step_started = time.monotonic()
                code = subprocess.call(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, env=self.env())
                seconds = time.monotonic() - step_started
                log.write("### %s: exit %d after %.0f s\n" % (label, code, seconds))
                log.flush()
                self.results.append((label, code, seconds))
                if code and self.stop_on_failure:
                    break
        self.wall = time.monotonic() - started
        with PRINT_LOCK, open(self.log, encoding="utf-8", errors="replace") as log:
            sys.stdout.write("\n========== %s (%.0f s) ==========\n" % (self.name, self.wall))
            for line in log:
                sys.stdout.write(line)
            sys.stdout.flush()

    def env(self):
        env = dict(os.environ)
        env.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", os.path.join(ROOT, ".lab", "vault-pass"))
        env["PATH"] = BIN + os.pathsep + env["PATH"]
        return env

    @property
    def ok(self):
        return bool(self.results) and all(code == 0 for _label, code, _seconds in self.results)


def tool(name, *args):
    return ("%s %s" % (name, " ".join(args)), [os.path.join(BIN, name)] + list(args))


def forget_molecule_state(scenarios):
    """Drop each scenario's molecule state: molecule keeps it under ~/.ansible/tmp, keyed by the checkout
    directory's *name*, and skips prepare (where each scenario injects its fault) for a scenario whose state says
    "prepared" - left by a run that stopped before destroy, in this or any checkout of the same name."""
    # molecule is the venv's: imported here, where the lanes need it, not when the driver starts.
    from molecule.text import checksum  # pylint: disable=import-outside-toplevel
    key = checksum(os.path.basename(ROOT), 4)
    for name in scenarios:
        path = os.path.join(os.path.expanduser("~"), ".ansible", "tmp", "molecule.%s.%s" % (key, name), "state.yml")
        if os.path.exists(path):
            os.remove(path)


def lane_job(lane, scenarios, nice=0):
    # pytest -p no:cacheprovider: the lanes run at the same time and would race on .pytest_cache.
    steps = [("pytest --lane %s" % lane,
              [os.path.join(BIN, "pytest"), "-q", "-p", "no:cacheprovider", "tests/integration", "--lane", lane,
               "--junitxml", os.path.join(LOGS, "%s.xml" % lane)])]
    if scenarios:
        forget_molecule_state(scenarios)
        # One molecule process per lane (molecule takes -s repeatedly); it stops at a failed scenario, so
        # the lanes' scenarios are few and each scenario's destroy puts the lab back.
        argv = [os.path.join(BIN, "molecule"), "test"]
        for name in scenarios:
            argv += ["-s", name]
        steps.append(("molecule %s" % " ".join(scenarios), argv))
    return Job(lane, steps, nice)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--skip", action="append", default=[], choices=["static"])
    parser.add_argument("--only-lane", action="append", default=[],
                        choices=["both", "tgquiz", "toogoodtogo", "own"])
    args = parser.parse_args()
    os.makedirs(LOGS, exist_ok=True)
    started = time.monotonic()
    jobs = []

    static = None
    if "static" not in args.skip:
        # What `make lint`, `make unit` and `make sanity` run, without their prerequisites: `make test` made the
        # venv and the lab's state (lab/state.py) before anything starts, and the lab job runs state.py again.
        static = Job("static", [tool("ansible-lint", "--profile", "production"), tool("antsibull-changelog", "lint"),
                                ("docs lint", ["bash", "scripts/docs.sh", "lint"]), tool("pytest", "-q", "tests/unit"),
                                ("sanity", ["bash", "scripts/sanity.sh"])], nice=15)
        static.start()
        jobs.append(static)
    lab = Job("lab", [("Docker engine", ["bash", "scripts/setup-docker.sh"]), ("lab/up.sh", ["bash", "lab/up.sh"])])
    lab.start()
    jobs.append(lab)
    lab.join()

    lanes = {}
    for scenario, lane in scenario_lanes().items():
        lanes.setdefault(lane, []).append(scenario)
    wanted = args.only_lane or ["both", "tgquiz", "toogoodtogo", "own"]
    if lab.ok:
        # The execution environment's image (its cold build takes minutes) while the first lane runs: test_ee.py
        # then finds it by its content hash (scripts/ee.sh), taking turns with this build on the same lock.
        ee = Job("ee", [("EE image", ["flock", os.path.join(ROOT, ".build", "ee.lock"), "bash", "scripts/ee.sh", "build"])],
                 nice=15)
        ee.start()
        jobs.append(ee)
        # `own` touches neither platform: it runs beside `both` too.
        own = lane_job("own", lanes.get("own", []), nice=10) if "own" in wanted else None
        if own is not None:
            own.start()
            jobs.append(own)
        if "both" in wanted:
            both = lane_job("both", lanes.get("both", []))
            both.start()
            jobs.append(both)
            both.join()
        side = [lane_job(lane, lanes.get(lane, []), nice) for lane, nice in (("tgquiz", 5), ("toogoodtogo", 0))
                if lane in wanted]
        for job in side:
            job.start()
            jobs.append(job)
        for job in side + [own, ee]:
            if job is not None:
                job.join()
    if static is not None:
        static.join()

    print("\n========== summary (%.0f s in all) ==========" % (time.monotonic() - started))
    for job in jobs:
        print("%-12s %5.0f s  %s" % (job.name, job.wall or 0, "ok" if job.ok else "FAILED"))
        for label, code, seconds in job.results:
            print("    %-60s %5.0f s  exit %d" % (label[:60], seconds, code))
    if not lab.ok:
        print("the lab did not come up: no integration test ran")
    return 0 if all(job.ok for job in jobs) and lab.ok else 1


if __name__ == "__main__":
    sys.exit(main())
