"""The reference application against the lab's own emulators (lab/emulators, in-process on 127.0.0.1).

The stubs in the other test_app_* files answer what each test scripts; these check that the app and the
emulators (built from api-contracts.md) agree on the real contracts end to end.
"""
import io

import pytest
import sqlalchemy

from _app_fixtures import BASE_ENV, TOKEN, app_sqlite_engine, reset_logging

from app import bot as botmod
from app import config, logs
from app.models import mint_transactions, quiz_results, quizzes, users
from app.services.ton import retry_failed_mints as rfm
from app.telegram import TelegramClient

BOT_ID = int(TOKEN.split(":", maxsplit=1)[0])
WALLET = "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N"
RECIPIENT = "UQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqEBI"


@pytest.fixture
def engine(tmp_path):
    eng = app_sqlite_engine(tmp_path / "e.db")
    yield eng
    eng.dispose()


@pytest.fixture
def log_stream():
    stream = io.StringIO()
    logs.setup([TOKEN, "ton-Key-5", "pin-Key-6", "pin-Secret-7"], stream=stream)
    yield stream
    reset_logging()


def test_bot_with_the_telegram_emulator(start_emulator, http, engine, log_stream):
    # The emulator refuses webhooks to names it cannot resolve, as the Bot API server does.
    tg = start_emulator("telegram", seed={"bots": [{"token": TOKEN, "username": "quiz_bot", "first_name": "Quiz"}]},
                        resolve={"tgquiz.lab": ("127.0.0.1", None)})
    settings = config.load(dict(BASE_ENV, TELEGRAM_API_URL=tg.url))
    bot = botmod.Bot(settings, engine, TelegramClient(tg.url, TOKEN), heartbeat=lambda state: None)

    update = {"message": {"message_id": 1, "date": 0, "text": "/start",
                          "from": {"id": 5550001, "is_bot": False, "first_name": "U", "username": "u1"},
                          "chat": {"id": 5550001, "type": "private"}}}
    assert http.post(tg.url + "/_control/bots/%d/updates" % BOT_ID, json=update, timeout=5).json()["ok"]
    assert bot.poll_once() == 0
    sent = http.get(tg.url + "/_control/bots/%d/sent" % BOT_ID, timeout=5).json()["messages"]
    assert [int(m["chat_id"]) for m in sent] == [5550001] and sent[0]["text"].startswith("Welcome")
    with engine.connect() as conn:
        assert conn.execute(sqlalchemy.select(users.c.username)).scalars().all() == ["u1"]

    # A leftover webhook blocks polling (pain point 1).
    set_hook = http.post(tg.url + "/bot%s/setWebhook" % TOKEN, json={"url": "https://tgquiz.lab/webhook/telegram"}, timeout=5)
    assert set_hook.json()["ok"] is True
    assert bot.poll_once() == botmod.RETRY_SECONDS
    assert ("ERROR: Telegram getUpdates conflict: a webhook is set (409); delete the webhook to use polling"
            in log_stream.getvalue().splitlines())

    # A revoked token (BotFather /revoke) is reported and retried slowly.
    assert http.post(tg.url + "/_control/bots/%d/revoke" % BOT_ID, timeout=5).json()["ok"]
    assert bot.poll_once() == botmod.TOKEN_RETRY_SECONDS
    assert "ERROR: Telegram rejected the bot token (401)" in log_stream.getvalue().splitlines()
    assert TOKEN.split(":")[1] not in log_stream.getvalue()


def seed_mints(engine, n):
    with engine.begin() as conn:
        conn.execute(users.insert().values(id=1, username="a"))
        conn.execute(quizzes.insert().values(id=1, title="TON basics"))
        for i in range(1, n + 1):
            conn.execute(quiz_results.insert().values(id=i, user_id=1, quiz_id=1, score=60 + i))
            conn.execute(mint_transactions.insert().values(id=i, user_id=1, quiz_result_id=i, status="failed",
                                                           wallet_address=RECIPIENT))


def ton_and_pinata(start_emulator, balance):
    ton = start_emulator("toncenter", seed={"keys": [{"key": "ton-Key-5", "network": "mainnet"}],
                                            "wallets": [{"address": WALLET, "balance_nanoton": str(balance),
                                                         "state": "active"}]})
    pinata = start_emulator("pinata", seed={"accounts": [{"name": "tgquiz", "api_key": "pin-Key-6",
                                                          "secret_api_key": "pin-Secret-7"}]})
    settings = config.load(dict(BASE_ENV, TONCENTER_API_URL=ton.url + "/api/v2", TONCENTER_API_KEY="ton-Key-5",
                                TON_WALLET_ADDRESS=WALLET, PINATA_API_URL=pinata.url, PINATA_API_KEY="pin-Key-6",
                                PINATA_SECRET_KEY="pin-Secret-7"))
    return ton, pinata, settings


def test_retry_failed_mints_with_the_toncenter_and_pinata_emulators(start_emulator, http, engine, log_stream):
    ton, pinata, settings = ton_and_pinata(start_emulator, 3_000_000_000)
    seed_mints(engine, 2)
    summary = rfm.retry(rfm.MintStore(engine), settings, rfm.DEFAULT_MIN_BALANCE, rfm.DEFAULT_STUCK_AFTER)
    assert summary == {"retried": 2, "completed": 2, "failed": 0}
    pins = http.get(pinata.url + "/_control/pins", params={"account": "tgquiz"}, timeout=5).json()["pins"]
    with engine.connect() as conn:
        hashes = conn.execute(sqlalchemy.select(mint_transactions.c.ipfs_hash).order_by(mint_transactions.c.id)).scalars().all()
    assert sorted(hashes) == sorted(p["IpfsHash"] for p in pins) and len(set(hashes)) == 2
    assert "INFO: minting wallet balance 3 TON" in log_stream.getvalue()


def test_retry_failed_mints_low_balance_and_revoked_key(start_emulator, http, engine, log_stream):
    ton, pinata, settings = ton_and_pinata(start_emulator, 1_000_000)
    seed_mints(engine, 1)
    assert rfm.retry(rfm.MintStore(engine), settings, rfm.DEFAULT_MIN_BALANCE, rfm.DEFAULT_STUCK_AFTER)["failed"] == 1
    assert ("ERROR: TON transaction failed: wallet balance 0.001 TON is below the minimum 0.05 TON"
            in log_stream.getvalue().splitlines())
    assert http.post(ton.url + "/_control/keys/revoke", json={"key": "ton-Key-5"}, timeout=5).json()["ok"]
    assert rfm.retry(rfm.MintStore(engine), settings, rfm.DEFAULT_MIN_BALANCE, rfm.DEFAULT_STUCK_AFTER)["failed"] == 1
    assert ("ERROR: TON transaction failed: wallet balance unavailable: toncenter: API key does not exist (code 401)"
            in log_stream.getvalue().splitlines())
    assert "ton-Key-5" not in log_stream.getvalue()
