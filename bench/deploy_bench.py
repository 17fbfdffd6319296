"""Requests through nginx at a steady, bounded rate while playbooks/deploy.yml deploys a healthy release.

    flock /tmp/tgops-lab.lock .venv/bin/python bench/deploy_bench.py [--platform toogoodtogo] [--rate 20]
          [--to v1.0.0] [--back v1.1.0] [--with-backup]

Against the lab (make lab): GET https://127.0.0.1:28443/health (toogoodtogo) or :18443 (tgquiz), verified
with the lab CA (.lab/ca/ca.crt), at --rate requests per second from a scheduler that never sends more than
--max-in-flight at once (a request that would exceed it counts as failed: the service did not keep up).
It deploys --to, then deploys --back (the release it started on), measuring both. For each deploy it
reports the requests sent, the failed ones (HTTP status other than 200, or no answer within --timeout s)
by kind, the longest gap between two successful answers, latency percentiles, and when the served
version changed. Results go to bench/results/deploy.json (ignored by git). Exit status 1 when any request
failed (the goal is 0).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
URLS = {"toogoodtogo": "https://127.0.0.1:28443/health", "tgquiz": "https://127.0.0.1:18443/health"}


class Load(object):
    """Sends one request every 1/rate s on its own thread (at most max_in_flight at a time)."""

    def __init__(self, url, rate, timeout, max_in_flight, ca):
        self.url, self.interval, self.timeout, self.ca = url, 1.0 / rate, timeout, ca
        self.slots = threading.BoundedSemaphore(max_in_flight)
        self.results = []  # (sent_at, done_at, ok, kind, version)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.local = threading.local()
        self.threads = []
        self.scheduler = threading.Thread(target=self._schedule, daemon=True)

    def _session(self):
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def _one(self, sent):
        try:
            resp = self._session().get(self.url, timeout=self.timeout, verify=self.ca)
            ok = resp.status_code == 200
            try:
                version = resp.json().get("version")
            except ValueError:
                version = None
            kind = "ok" if ok else "HTTP %d" % resp.status_code
        except requests.RequestException as exc:
            ok, version, kind = False, None, type(exc).__name__
            self.local.__dict__.pop("session", None)  # a fresh connection next time
        finally:
            self.slots.release()
        with self.lock:
            self.results.append((sent, time.monotonic(), ok, kind, version))

    def _schedule(self):
        next_at = time.monotonic()
        while not self.stop.is_set():
            now = time.monotonic()
            if now < next_at:
                time.sleep(min(next_at - now, 0.05))
                continue
            if self.slots.acquire(blocking=False):
                thread = threading.Thread(target=self._one, args=(next_at,), daemon=True)
                thread.start()
                self.threads.append(thread)
            else:
                with self.lock:
                    self.results.append((next_at, next_at, False, "not sent: max_in_flight requests waiting", None))
            next_at += self.interval

    def start(self):
        self.scheduler.start()

    def finish(self):
        self.stop.set()
        self.scheduler.join()
        for thread in self.threads:
            thread.join(self.timeout + 1)
        return sorted(self.results)


def summarise(results, started, deploy_window):
    sent = len(results)
    failed = [r for r in results if not r[2]]
    kinds = {}
    for r in failed:
        kinds[r[3]] = kinds.get(r[3], 0) + 1
    done_ok = sorted(r[1] for r in results if r[2])
    gaps = [b - a for a, b in zip(done_ok, done_ok[1:])]
    latencies = sorted((r[1] - r[0]) * 1000 for r in results if r[2])
    switch = None
    versions = [(r[1], r[4]) for r in sorted(results, key=lambda r: r[1]) if r[2]]
    for (t0, v0), (t1, v1) in zip(versions, versions[1:]):
        if v0 != v1:
            switch = dict(at_s=round(t1 - started, 2), from_version=v0, to_version=v1)
    first_fail = round(failed[0][0] - started, 2) if failed else None
    last_fail = round(failed[-1][0] - started, 2) if failed else None
    return dict(
        requests=sent, failed=len(failed), failed_by_kind=kinds,
        longest_gap_s=round(max(gaps), 3) if gaps else None,
        failures_between_s=[first_fail, last_fail],
        latency_ms=dict(p50=round(statistics.median(latencies), 1) if latencies else None,
                        p99=round(latencies[int(len(latencies) * 0.99) - 1], 1) if latencies else None,
                        max=round(latencies[-1], 1) if latencies else None),
        version_switch=switch, deploy_window_s=deploy_window,
    )


def deploy(platform, release, with_backup):
    argv = [os.path.join(ROOT, ".venv", "bin", "ansible-playbook"), "playbooks/deploy.yml", "-l", platform,
            "-e", "deploy_release=%s" % release]
    if not with_backup:
        argv += ["-e", "deploy_skip_backup=true"]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), TGOPS_OPERATOR="deploy-bench",
               ANSIBLE_VAULT_PASSWORD_FILE=os.environ.get("ANSIBLE_VAULT_PASSWORD_FILE",
                                                          os.path.join(ROOT, ".lab", "vault-pass")))
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def measure(args, release):
    load = Load(URLS[args.platform], args.rate, args.timeout, args.max_in_flight, args.ca)
    load.start()
    time.sleep(args.settle)
    started = time.monotonic()
    proc = deploy(args.platform, release, args.with_backup)
    ended = time.monotonic()
    time.sleep(args.settle)
    results = load.finish()
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-2000:])
        raise SystemExit("the deploy of %s failed" % release)
    summary = summarise(results, started, [0.0, round(ended - started, 2)])
    summary.update(release=release, deploy_seconds=round(ended - started, 1))
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--platform", choices=sorted(URLS), default="toogoodtogo")
    parser.add_argument("--to", default="v1.0.0", help="release to deploy (healthy)")
    parser.add_argument("--back", default="v1.1.0", help="release to deploy afterwards (the one the lab runs)")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second")
    parser.add_argument("--max-in-flight", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per request")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds of load before and after each deploy")
    parser.add_argument("--with-backup", action="store_true", help="include the pre-deployment backup")
    parser.add_argument("--ca", default=os.path.join(ROOT, ".lab", "ca", "ca.crt"))
    parser.add_argument("--output", default=os.path.join(ROOT, "bench", "results", "deploy.json"))
    args = parser.parse_args()

    runs = [measure(args, args.to)]
    if args.back:
        runs.append(measure(args, args.back))
    report = dict(platform=args.platform, url=URLS[args.platform], rate=args.rate, max_in_flight=args.max_in_flight,
                  timeout_s=args.timeout, with_backup=args.with_backup, runs=runs,
                  measured_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as handle:
        json.dump(report, handle, indent=2)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 1 if any(r["failed"] for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
