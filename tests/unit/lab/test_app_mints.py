"""retry_failed_mints and WalletService against toncenter / Pinata stubs on 127.0.0.1 (SQLite as the store)."""
import asyncio
import io
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy

from _app_fixtures import APP_DIR, BASE_ENV, Stub, app_sqlite_engine, closed_port, reset_logging, subprocess_env

from app import config, db, logs
from app.models import mint_transactions, quiz_results, quizzes, users
from app.services.ton import retry_failed_mints as rfm
from app.services.ton.toncenter import crc16_xmodem, valid_address
from app.services.ton.wallet_service import WalletService, format_ton

WALLET = "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N"
RECIPIENT = "UQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqEBI"
BALANCE = "/api/v2/getAddressBalance"
PIN = "/pinning/pinJSONToIPFS"


@pytest.fixture
def stub():
    s = Stub()
    s.route("GET", BALANCE, 200, {"ok": True, "result": "2500000000"})
    counter = {"n": 0}

    def pin(request):
        counter["n"] += 1
        return 200, {"IpfsHash": "QmHash%d" % counter["n"], "PinSize": 120, "Timestamp": "2025-01-20T10:00:00Z",
                     "isDuplicate": False}, {}

    s.route("POST", PIN, body=pin)
    yield s
    s.close()


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "mints.db"
    engine = app_sqlite_engine(path)
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        conn.execute(users.insert(), [{"id": 11, "username": "a"}, {"id": 12, "username": "b"}])
        conn.execute(quizzes.insert(), [{"id": 1, "title": "TON basics"}])
        conn.execute(quiz_results.insert(), [{"id": n, "user_id": 11, "quiz_id": 1, "score": 70 + n} for n in (1, 2, 3, 4, 5)])
        for row in [
            {"id": 1, "user_id": 11, "quiz_result_id": 1, "status": "failed", "wallet_address": RECIPIENT,
             "created_at": now - timedelta(minutes=30), "error": "TON transaction failed: timeout"},
            {"id": 2, "user_id": 11, "quiz_result_id": 2, "status": "pending", "wallet_address": RECIPIENT,
             "created_at": now - timedelta(hours=2)},   # stuck: older than an hour
            {"id": 3, "user_id": 12, "quiz_result_id": 3, "status": "pending", "wallet_address": RECIPIENT,
             "created_at": now - timedelta(minutes=5)},  # still in flight: left alone
            {"id": 4, "user_id": 12, "quiz_result_id": 4, "status": "completed", "wallet_address": RECIPIENT,
             "ipfs_hash": "QmOld", "created_at": now - timedelta(days=1)},
            {"id": 5, "user_id": 12, "quiz_result_id": 5, "status": "failed", "wallet_address": "not-an-address",
             "created_at": now - timedelta(minutes=40)},
        ]:
            conn.execute(mint_transactions.insert().values(**row))
    engine.dispose()
    return path


def settings_for(stub, **extra):
    return config.load(dict(BASE_ENV, TONCENTER_API_URL=stub.url + "/api/v2", TONCENTER_API_KEY="ton-Key-5",
                            TON_WALLET_ADDRESS=WALLET, PINATA_API_URL=stub.url, PINATA_API_KEY="pin-Key-6",
                            PINATA_SECRET_KEY="pin-Secret-7", **extra))


def rows(path):
    engine = sqlalchemy.create_engine("sqlite:///%s" % path)
    with engine.connect() as conn:
        out = {r.id: r for r in conn.execute(sqlalchemy.select(mint_transactions))}
        minted = dict(conn.execute(sqlalchemy.select(quiz_results.c.id, quiz_results.c.nft_minted)).all())
    engine.dispose()
    return out, minted


def run_retry(stub, db_path, stream, min_balance=rfm.DEFAULT_MIN_BALANCE, **extra):
    settings = settings_for(stub, **extra)
    logs.setup(settings.secrets(), stream=stream)
    engine = db.create_engine(sqlalchemy.engine.make_url("sqlite:///%s" % db_path))
    try:
        return rfm.retry(rfm.MintStore(engine), settings, min_balance, rfm.DEFAULT_STUCK_AFTER)
    finally:
        engine.dispose()
        reset_logging()


def test_failed_and_stuck_rows_are_pinned_and_completed(stub, db_path):
    stream = io.StringIO()
    summary = run_retry(stub, db_path, stream)
    assert summary == {"retried": 3, "completed": 2, "failed": 1}
    got, minted = rows(db_path)
    # Oldest first: the stuck pending row (2 h) is pinned before the failed one (30 min).
    assert (got[2].status, got[2].ipfs_hash, got[2].error) == ("completed", "QmHash1", None)
    assert (got[1].status, got[1].ipfs_hash, got[1].error) == ("completed", "QmHash2", None)
    assert got[3].status == "pending" and got[4].ipfs_hash == "QmOld"
    assert got[5].status == "failed" and got[5].error == "invalid recipient wallet address"
    assert minted == {1: True, 2: True, 3: False, 4: False, 5: False}
    balance_call = stub.calls(BALANCE)[0]
    assert balance_call["query"] == {"address": WALLET} and balance_call["headers"]["X-API-Key"] == "ton-Key-5"
    pin = stub.calls(PIN)[0]
    assert pin["headers"]["pinata_api_key"] == "pin-Key-6" and pin["headers"]["pinata_secret_api_key"] == "pin-Secret-7"
    assert pin["json"]["pinataContent"]["attributes"][1] == {"trait_type": "score", "value": 72}
    out = stream.getvalue()
    assert "INFO: minting wallet balance 2.5 TON" in out
    assert "ERROR: NFT minting failed: mint_transaction 5: invalid recipient wallet address" in out
    for secret in ("ton-Key-5", "pin-Key-6", "pin-Secret-7"):
        assert secret not in out


def test_low_balance_fails_every_row_without_pinning(stub, db_path):
    stub.route("GET", BALANCE, 200, {"ok": True, "result": "10000000"})
    stream = io.StringIO()
    summary = run_retry(stub, db_path, stream)
    assert summary == {"retried": 3, "completed": 0, "failed": 3}
    assert stub.calls(PIN) == []
    assert ("ERROR: TON transaction failed: wallet balance 0.01 TON is below the minimum 0.05 TON"
            in stream.getvalue().splitlines())
    got, _minted = rows(db_path)
    assert got[2].status == "failed"  # the stuck pending row is now failed, with the reason
    assert got[2].error.startswith("TON transaction failed: wallet balance 0.01 TON")


@pytest.mark.parametrize("status,body,expected", [
    (401, {"ok": False, "error": "API key does not exist", "code": 401}, "toncenter: API key does not exist (code 401)"),
    (429, {"ok": False, "result": "Ratelimit exceed", "code": 429}, "toncenter rate limited: Ratelimit exceed (code 429)"),
    (200, {"ok": False, "error": "Ratelimit exceed", "code": 429}, "toncenter rate limited: Ratelimit exceed (code 429)"),
])
def test_toncenter_errors_fail_the_run(stub, db_path, status, body, expected):
    stub.route("GET", BALANCE, status, body)
    stream = io.StringIO()
    summary = run_retry(stub, db_path, stream)
    assert summary["failed"] == 3 and summary["completed"] == 0
    assert "ERROR: TON transaction failed: wallet balance unavailable: %s" % expected in stream.getvalue()


def test_pinata_rejection_logs_ipfs_upload_failed_and_stops_pinning(stub, db_path):
    stub.route("POST", PIN, 401, {"error": {"reason": "INVALID_CREDENTIALS", "details": "Invalid/expired credentials"}})
    stream = io.StringIO()
    summary = run_retry(stub, db_path, stream)
    assert summary == {"retried": 3, "completed": 0, "failed": 3}
    assert len(stub.calls(PIN)) == 1  # the same answer would follow for every row
    assert ("ERROR: IPFS upload failed: Pinata rejected the credentials (401 INVALID_CREDENTIALS Invalid/expired credentials)"
            in stream.getvalue().splitlines())
    got, minted = rows(db_path)
    assert got[2].status == "failed" and got[2].error.startswith("IPFS upload failed: Pinata rejected")
    assert got[1].status == "failed" and got[1].error.startswith("IPFS upload skipped: Pinata rejected")
    assert not any(minted.values())


def test_nothing_to_retry(stub, tmp_path):
    path = tmp_path / "empty.db"
    engine = app_sqlite_engine(path)
    engine.dispose()
    assert run_retry(stub, path, io.StringIO()) == {"retried": 0, "completed": 0, "failed": 0}
    assert stub.requests == []


def cli(stub, db_path, *args, **extra):
    env = dict(BASE_ENV, DATABASE_URL="sqlite:///%s" % db_path, TONCENTER_API_URL=stub.url + "/api/v2",
               TONCENTER_API_KEY="ton-Key-5", TON_WALLET_ADDRESS=WALLET, PINATA_API_URL=stub.url,
               PINATA_API_KEY="pin-Key-6", PINATA_SECRET_KEY="pin-Secret-7")
    env = subprocess_env(**dict(env, **extra))
    return subprocess.run([sys.executable, "-m", "app.services.ton.retry_failed_mints", *args], cwd=APP_DIR,
                          env=env, capture_output=True, text=True, timeout=60, check=False)


def test_cli_prints_one_json_line_and_exit_code(stub, db_path):
    dry = cli(stub, db_path, "--dry-run")
    assert dry.returncode == 0 and json.loads(dry.stdout) == {"retried": 0, "completed": 0, "failed": 0}
    assert "INFO: would retry mint_transaction 2 (status pending)" in dry.stderr
    assert stub.requests == []
    proc = cli(stub, db_path)
    assert proc.stdout == '{"retried":3,"completed":2,"failed":1}\n'
    assert proc.returncode == 1  # row 5 failed
    again = cli(stub, db_path, MINT_MIN_BALANCE_NANOTON="1")
    assert again.stdout == '{"retried":1,"completed":0,"failed":1}\n' and again.returncode == 1


def test_cli_exit_0_when_everything_completes(stub, db_path):
    proc = cli(stub, db_path, "--limit", "1")
    assert json.loads(proc.stdout) == {"retried": 1, "completed": 1, "failed": 0}
    assert proc.returncode == 0


def test_cli_database_unreachable(stub):
    proc = cli(stub, "x", DATABASE_URL="postgresql+psycopg2://u:pw-Hidden-9@127.0.0.1:%d/db" % closed_port())
    assert proc.returncode == 1
    assert json.loads(proc.stdout) == {"retried": 0, "completed": 0, "failed": 0}
    assert "ERROR: Connection to database failed: OperationalError (retry_failed_mints)" in proc.stderr
    assert "pw-Hidden-9" not in proc.stderr


def test_wallet_service_balance_in_ton(stub, monkeypatch):
    stub.route("GET", BALANCE, 200, {"ok": True, "result": "1234567890"})
    monkeypatch.setenv("TONCENTER_API_URL", stub.url + "/api/v2")
    monkeypatch.setenv("TONCENTER_API_KEY", "ton-Key-5")
    monkeypatch.setenv("TON_WALLET_ADDRESS", WALLET)
    assert asyncio.run(WalletService().get_balance()) == "1.23456789"
    assert stub.calls(BALANCE)[0]["headers"]["X-API-Key"] == "ton-Key-5"


def test_wallet_service_runbook_one_liner(stub):
    """The runbook's weekly check, verbatim, run in the app directory."""
    stub.route("GET", BALANCE, 200, {"ok": True, "result": "5000000000"})
    code = ("from app.services.ton.wallet_service import WalletService; import asyncio; "
            "ws = WalletService(); print(asyncio.run(ws.get_balance()))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=APP_DIR, capture_output=True, text=True, timeout=30,
                          env=subprocess_env(TONCENTER_API_URL=stub.url + "/api/v2", TON_WALLET_ADDRESS=WALLET),
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "5\n"


def test_addresses_and_amounts():
    assert crc16_xmodem(b"123456789") == 0x31C3
    assert valid_address(WALLET) and valid_address(RECIPIENT)
    assert valid_address("0:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8")
    assert not valid_address(WALLET[:-1] + ("M" if WALLET[-1] != "M" else "N"))  # CRC mismatch
    assert not valid_address("2:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8")
    assert not valid_address(None)
    assert format_ton(0) == "0" and format_ton(50_000_000) == "0.05" and format_ton(10 ** 18 + 1) == "1000000000.000000001"


def test_opt_in_mint_worker_processes_pending_rows_into_the_logs(stub, db_path):
    """MINT_WORKER_INTERVAL_SECONDS > 0: the API mints pending rows and its own log shows failures."""
    stub.route("POST", PIN, 429, {"error": "rate limited"}, {"Retry-After": "60"})
    settings = settings_for(stub, MINT_WORKER_INTERVAL_SECONDS="5")
    assert settings.mint_worker_interval == 5.0
    engine = db.create_engine(sqlalchemy.engine.make_url("sqlite:///%s" % db_path))
    stream = io.StringIO()
    logs.setup(settings.secrets(), stream=stream)
    try:
        rfm.MintWorker(engine, settings, settings.mint_worker_interval, rfm.DEFAULT_MIN_BALANCE).tick()
    finally:
        reset_logging()
        engine.dispose()
    got, _minted = rows(db_path)
    assert got[2].status == "failed" and got[3].status == "failed"  # both pending rows, whatever their age
    assert got[1].error == "TON transaction failed: timeout"  # failed rows are the retry job's, untouched
    lines = stream.getvalue().splitlines()
    assert "ERROR: IPFS upload failed: Pinata rate limited (429, Retry-After 60)" in lines
    assert 'INFO: mint worker: {"retried":2,"completed":0,"failed":2}' in lines


def test_mint_worker_is_off_by_default_and_survives_the_database():
    assert config.load(dict(BASE_ENV)).mint_worker_interval == 0
    engine = db.create_engine(db.database_url({"POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": str(closed_port()),
                                               "POSTGRES_PASSWORD": "x"}))
    stream = io.StringIO()
    logs.setup(stream=stream)
    try:
        rfm.MintWorker(engine, config.load(dict(BASE_ENV)), 1, rfm.DEFAULT_MIN_BALANCE).tick()
    finally:
        reset_logging()
    assert "ERROR: Connection to database failed: OperationalError (mint worker)" in stream.getvalue().splitlines()
