"""Compatibility package for the toogoodtogo runbook's ``from src.storage.database import engine``."""
