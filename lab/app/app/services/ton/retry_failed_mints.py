"""Retry failed NFT mints (runbook P1 "NFT Minting Failures": ``python -m app.services.ton.retry_failed_mints``).

Which rows: status 'failed', and status 'pending' created more than MINT_STUCK_AFTER_SECONDS
(default 3600, the runbook's "stuck" hour) ago. Oldest first, at most --limit (default 100).

For the run: the minting wallet's balance via toncenter getAddressBalance must be at least
MINT_MIN_BALANCE_NANOTON (default 50000000 = 0.05 TON), else every selected row is marked 'failed'
with ``ERROR: TON transaction failed: ...``. For each row: pin the NFT metadata with Pinata
(pinJSONToIPFS); success marks the row 'completed' with its ipfs_hash (and the quiz result
nft_minted); failure logs ``ERROR: IPFS upload failed: ...`` and marks it 'failed' with the error.
A Pinata 429 stops pinning for this run (the remaining rows stay 'failed').

stdout: one JSON line {"retried":N,"completed":N,"failed":N}; exit 0 when nothing failed, else 1.
--dry-run lists what would be retried and changes nothing (exit 0).
"""
import argparse
import json
import logging
import sys
import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import or_, select, update

from app import config, db, logs
from app.models import mint_transactions, quiz_results, quizzes
from app.services.pinata import PinataError, pin_json
from app.services.ton.toncenter import TonCenterError, get_address_balance, valid_address
from app.services.ton.wallet_service import format_ton

log = logging.getLogger("app.mints")
DEFAULT_MIN_BALANCE = 50_000_000
DEFAULT_STUCK_AFTER = 3600


class MintStore:
    """mint_transactions access through SQLAlchemy Core (PostgreSQL in production, SQLite in tests)."""

    def __init__(self, engine):
        self.engine = engine

    def retryable(self, stuck_before, limit):
        mt = mint_transactions
        query = (select(mt.c.id, mt.c.user_id, mt.c.quiz_result_id, mt.c.wallet_address, mt.c.status,
                        quiz_results.c.score, quiz_results.c.quiz_id, quizzes.c.title)
                 .select_from(mt.outerjoin(quiz_results, quiz_results.c.id == mt.c.quiz_result_id)
                              .outerjoin(quizzes, quizzes.c.id == quiz_results.c.quiz_id))
                 .where(or_(mt.c.status == "failed", (mt.c.status == "pending") & (mt.c.created_at < stuck_before)))
                 .order_by(mt.c.created_at, mt.c.id).limit(limit))
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def pending(self, limit):
        """Rows waiting to be minted (the API's opt-in mint worker), oldest first."""
        mt = mint_transactions
        query = (select(mt.c.id, mt.c.user_id, mt.c.quiz_result_id, mt.c.wallet_address, mt.c.status,
                        quiz_results.c.score, quiz_results.c.quiz_id, quizzes.c.title)
                 .select_from(mt.outerjoin(quiz_results, quiz_results.c.id == mt.c.quiz_result_id)
                              .outerjoin(quizzes, quizzes.c.id == quiz_results.c.quiz_id))
                 .where(mt.c.status == "pending").order_by(mt.c.created_at, mt.c.id).limit(limit))
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def mark_completed(self, row, ipfs_hash):
        now = datetime.now(timezone.utc)
        with self.engine.begin() as conn:
            conn.execute(update(mint_transactions).where(mint_transactions.c.id == row["id"])
                         .values(status="completed", ipfs_hash=ipfs_hash, error=None, updated_at=now))
            if row.get("quiz_result_id") is not None:
                conn.execute(update(quiz_results).where(quiz_results.c.id == row["quiz_result_id"])
                             .values(nft_minted=True))

    def mark_failed(self, row, error):
        with self.engine.begin() as conn:
            conn.execute(update(mint_transactions).where(mint_transactions.c.id == row["id"])
                         .values(status="failed", error=error[:500], updated_at=datetime.now(timezone.utc)))


def metadata_for(row):
    title = row.get("title") or "Quiz #%s" % row.get("quiz_id")
    return {"name": "%s result #%s" % (title, row.get("quiz_result_id")),
            "description": "Quiz completion certificate for Telegram user %s" % row["user_id"],
            "attributes": [{"trait_type": "quiz", "value": title},
                           {"trait_type": "score", "value": row.get("score")}]}


def retry(store, settings, min_balance, stuck_after, limit=100, dry_run=False, session=None):
    """Return the summary dict; see the module docstring for what happens to each row."""
    stuck_before = datetime.now(timezone.utc) - timedelta(seconds=stuck_after)
    rows = store.retryable(stuck_before, limit)
    if not rows:
        log.info("no failed or stuck mint transactions")
        return {"retried": 0, "completed": 0, "failed": 0}
    if dry_run:
        for row in rows:
            log.info("would retry mint_transaction %s (status %s)", row["id"], row["status"])
        return {"retried": 0, "completed": 0, "failed": 0}
    return mint(store, settings, rows, min_balance, session)


def mint(store, settings, rows, min_balance, session=None):
    """Balance check, then pin each row's metadata; returns {"retried", "completed", "failed"}."""
    summary = {"retried": len(rows), "completed": 0, "failed": 0}

    def fail(row, reason):
        store.mark_failed(row, reason)
        summary["failed"] += 1
        log.error("NFT minting failed: mint_transaction %s: %s", row["id"], reason)

    try:
        balance = get_address_balance(settings.toncenter_api_url, settings.toncenter_api_key,
                                      settings.ton_wallet_address, session=session)
    except TonCenterError as err:
        balance, reason = None, "wallet balance unavailable: %s" % err
    else:
        reason = None
        if balance < min_balance:
            reason = "wallet balance %s TON is below the minimum %s TON" % (format_ton(balance), format_ton(min_balance))
    if reason:
        log.error("TON transaction failed: %s", reason)
        for row in rows:
            fail(row, "TON transaction failed: " + reason)
        return summary
    log.info("minting wallet balance %s TON", format_ton(balance))

    pinata_blocked = None
    for row in rows:
        if pinata_blocked:
            fail(row, "IPFS upload skipped: " + pinata_blocked)
            continue
        if not valid_address(row.get("wallet_address")):
            fail(row, "invalid recipient wallet address")
            continue
        try:
            ipfs_hash = pin_json(settings.pinata_api_url, settings.pinata_api_key, settings.pinata_secret_key,
                                 metadata_for(row), "mint-%s" % row["id"], session=session)
        except PinataError as err:
            log.error("IPFS upload failed: %s", err)
            if err.status in (0, 401, 403, 429):
                pinata_blocked = str(err)  # the same answer would follow for every row
            fail(row, "IPFS upload failed: %s" % err)
            continue
        store.mark_completed(row, ipfs_hash)
        summary["completed"] += 1
        log.info("mint_transaction %s completed: ipfs_hash %s", row["id"], ipfs_hash)
    return summary


class MintWorker(threading.Thread):
    """Opt-in background minting in the API (MINT_WORKER_INTERVAL_SECONDS > 0): like the real backend,
    pending mints are processed there, so their failures show in ``logs backend-api``."""

    def __init__(self, engine, settings, interval, min_balance, batch=20):
        super().__init__(name="mint-worker", daemon=True)
        self.store = MintStore(engine)
        self.settings = settings
        self.interval = interval
        self.min_balance = min_balance
        self.batch = batch
        self.stop_event = threading.Event()

    def tick(self):
        try:
            rows = self.store.pending(self.batch)
            if rows:
                summary = mint(self.store, self.settings, rows, self.min_balance)
                log.info("mint worker: %s", json.dumps(summary, separators=(",", ":")))
        except Exception as err:  # noqa: BLE001 - the worker must survive the database going away
            db.log_db_failure(err, "mint worker")

    def run(self):
        while not self.stop_event.wait(self.interval):
            self.tick()


def env_int(env, name, default):
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        sys.stderr.write("CRITICAL: invalid environment variables (positive number expected): %s\n" % name)
        sys.exit(config.EX_CONFIG)
    return number


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m app.services.ton.retry_failed_mints",
                                     description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--limit", type=int, default=100, help="at most this many rows (default 100)")
    parser.add_argument("--dry-run", action="store_true", help="list the rows, change nothing")
    args = parser.parse_args(argv)
    settings = config.load_or_exit()
    logs.setup(settings.secrets())
    env = config.read_environment()
    min_balance = env_int(env, "MINT_MIN_BALANCE_NANOTON", DEFAULT_MIN_BALANCE)
    stuck_after = env_int(env, "MINT_STUCK_AFTER_SECONDS", DEFAULT_STUCK_AFTER)
    engine = db.create_engine(db.database_url(db.settings_env(settings)), 1, 1, settings.slow_query_seconds)
    try:
        summary = retry(MintStore(engine), settings, min_balance, stuck_after, args.limit, args.dry_run)
        code = 0 if summary["failed"] == 0 else 1
    except Exception as err:  # noqa: BLE001 - database trouble: say so, exit 1
        db.log_db_failure(err, "retry_failed_mints")
        summary, code = {"retried": 0, "completed": 0, "failed": 0}, 1
    finally:
        engine.dispose()
    sys.stdout.write(json.dumps(summary, separators=(",", ":")) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
