"""Table definitions (SQLAlchemy Core) matching the Alembic revisions; queries are built from these."""
from sqlalchemy import (BigInteger, Boolean, Column, DateTime, ForeignKey, Integer, MetaData, String,
                        Table, Text, func, text)

metadata = MetaData()

users = Table(
    "users", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),  # Telegram user id
    Column("username", String(255)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

quizzes = Table(
    "quizzes", metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

quiz_results = Table(
    "quiz_results", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", BigInteger, ForeignKey("users.id"), nullable=False),
    Column("quiz_id", Integer, ForeignKey("quizzes.id"), nullable=False),
    Column("score", Integer, nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("nft_minted", Boolean, nullable=False, server_default=text("false")),
)

mint_transactions = Table(
    "mint_transactions", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", BigInteger, ForeignKey("users.id"), nullable=False),
    Column("quiz_result_id", Integer, ForeignKey("quiz_results.id")),
    Column("status", Text, nullable=False, server_default="pending"),  # pending|completed|failed
    Column("wallet_address", String(128)),
    Column("ipfs_hash", String(128)),
    Column("error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

stores = Table(
    "stores", metadata,
    Column("id", Integer, primary_key=True),
    Column("owner_user_id", BigInteger, ForeignKey("users.id")),
    Column("name", String(255), nullable=False),
    Column("address", Text),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

offers = Table(
    "offers", metadata,
    Column("id", Integer, primary_key=True),
    Column("store_id", Integer, ForeignKey("stores.id"), nullable=False),
    Column("title", String(255), nullable=False),
    Column("price_cents", Integer, nullable=False),
    Column("currency", String(3), nullable=False, server_default="EUR"),
    Column("quantity", Integer, nullable=False, server_default=text("1")),
    Column("pickup_start", DateTime(timezone=True)),
    Column("pickup_end", DateTime(timezone=True)),
    Column("status", String(16), nullable=False, server_default="active"),  # active|sold_out|expired
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

orders = Table(
    "orders", metadata,
    Column("id", Integer, primary_key=True),
    Column("offer_id", Integer, ForeignKey("offers.id"), nullable=False),
    Column("user_id", BigInteger, ForeignKey("users.id"), nullable=False),
    Column("quantity", Integer, nullable=False, server_default=text("1")),
    Column("status", String(16), nullable=False, server_default="pending"),  # pending|paid|picked_up|cancelled
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

payments = Table(
    "payments", metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False),
    Column("stripe_payment_intent_id", String(255), unique=True),
    Column("amount_cents", Integer, nullable=False),
    Column("currency", String(3), nullable=False, server_default="EUR"),
    Column("status", String(16), nullable=False, server_default="pending"),  # pending|succeeded|failed|refunded
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
