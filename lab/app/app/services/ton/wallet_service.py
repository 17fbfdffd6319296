"""The minting wallet's balance (the runbook: ``print(asyncio.run(WalletService().get_balance()))``).

Settings come from the environment (and APP_ENV_FILE): TONCENTER_API_URL, TONCENTER_API_KEY,
TON_WALLET_ADDRESS. No other secret is needed, so this works in any app container.
"""
import asyncio
from decimal import Decimal

from app import config

from .toncenter import NANOTONS, get_address_balance

DEFAULT_API_URL = "https://toncenter.com/api/v2"


def format_ton(nanotons):
    """Exact decimal TON from nanotons (never a float): 1500000000 -> '1.5', 0 -> '0'."""
    value = (Decimal(int(nanotons)) / NANOTONS).normalize()
    return format(value, "f")


class WalletService:
    def __init__(self, address=None, api_url=None, api_key=None, session=None):
        env = config.read_environment()
        self.address = address or env.get("TON_WALLET_ADDRESS", "").strip()
        self.api_url = (api_url or env.get("TONCENTER_API_URL", "").strip() or DEFAULT_API_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else env.get("TONCENTER_API_KEY", "").strip()
        self.session = session

    def get_balance_nanotons(self):
        return get_address_balance(self.api_url, self.api_key, self.address, self.session)

    async def get_balance(self):
        """Balance in TON as a decimal string, e.g. '12.5'."""
        nanotons = await asyncio.to_thread(self.get_balance_nanotons)
        return format_ton(nanotons)
