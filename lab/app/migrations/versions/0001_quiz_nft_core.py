"""tgquiz core: users, quizzes, quiz_results, mint_transactions

Revision ID: 0001
Revises:
Create Date: 2025-01-20
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def upgrade():
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False, comment="Telegram user id"),
        sa.Column("username", sa.String(255)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )
    op.create_table(
        "quizzes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )
    op.create_table(
        "quiz_results",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("quiz_id", sa.Integer(), sa.ForeignKey("quizzes.id"), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("nft_minted", sa.Boolean(), nullable=False, server_default=sa.text("false")),
    )
    op.create_table(
        "mint_transactions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("quiz_result_id", sa.Integer(), sa.ForeignKey("quiz_results.id")),
        sa.Column("status", sa.Text(), nullable=False, server_default="pending"),
        sa.Column("wallet_address", sa.String(128)),
        sa.Column("ipfs_hash", sa.String(128)),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.CheckConstraint("status IN ('pending', 'completed', 'failed')", name="mint_transactions_status_check"),
    )
    # The runbook lists pending mints newest first and sweeps stuck ones by age.
    op.create_index("ix_mint_transactions_status_created_at", "mint_transactions", ["status", "created_at"])
    op.create_index("ix_quiz_results_completed_at", "quiz_results", ["completed_at"])


def downgrade():
    op.drop_index("ix_quiz_results_completed_at", table_name="quiz_results")
    op.drop_index("ix_mint_transactions_status_created_at", table_name="mint_transactions")
    op.drop_table("mint_transactions")
    op.drop_table("quiz_results")
    op.drop_table("quizzes")
    op.drop_table("users")
