"""Update handling shared by the webhook (api.py) and the polling bot (bot.py)."""
import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import distinct, func, select
from sqlalchemy.dialects import postgresql, sqlite

from .models import quiz_results, users

log = logging.getLogger("app.handlers")

WELCOME = {
    "tgquiz": "Welcome to Telegram Quiz NFT! Answer quizzes, earn NFTs. Send /quiz to begin.",
    "toogoodtogo": "Welcome to TooGoodToGo! Browse surplus food offers near you with /offers.",
}


def upsert_user(engine, user_id, username):
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(users).values(id=user_id, username=username)
    stmt = stmt.on_conflict_do_update(index_elements=[users.c.id], set_={"username": stmt.excluded.username})
    with engine.begin() as conn:
        conn.execute(stmt)


def start_command(update):
    """(chat_id, user_id, username) when the update is a /start message, else None."""
    message = update.get("message") or {}
    text_ = (message.get("text") or "").strip()
    if not (text_ == "/start" or text_.startswith("/start ") or text_.startswith("/start@")):
        return None
    sender = message.get("from") or {}
    chat = message.get("chat") or {}
    if not isinstance(sender.get("id"), int):
        return None
    return chat.get("id", sender["id"]), sender["id"], sender.get("username")


def handle_update(engine, platform, update, reply):
    """Store the user of a /start and reply. DB errors propagate (the caller answers 500 / retries).

    ``reply(chat_id, text)`` sends (or schedules) the answer. Returns True when the update was a /start.
    """
    start = start_command(update)
    if start is None:
        return False
    chat_id, user_id, username = start
    upsert_user(engine, user_id, username)
    log.info("/start from user %s (update %s)", user_id, update.get("update_id"))
    reply(chat_id, WELCOME.get(platform, WELCOME["tgquiz"]))
    return True


def quiz_stats(engine):
    """The runbook's 'View Quiz Statistics' totals plus active users over 7 days."""
    week_ago = datetime.now(timezone.utc) - timedelta(days=7)
    totals = select(func.count().label("total_completions"),
                    func.count(distinct(quiz_results.c.user_id)).label("unique_users"),
                    func.avg(quiz_results.c.score).label("avg_score"),
                    func.count().filter(quiz_results.c.nft_minted).label("nfts_minted"))
    active = select(func.count(distinct(quiz_results.c.user_id))).where(quiz_results.c.completed_at > week_ago)
    with engine.connect() as conn:
        row = conn.execute(totals).one()
        active_7d = conn.execute(active).scalar_one()
    avg = row.avg_score
    return {"total_completions": int(row.total_completions), "unique_users": int(row.unique_users),
            "avg_score": None if avg is None else round(float(avg), 2),
            "nfts_minted": int(row.nfts_minted), "active_users_7d": int(active_7d)}
