"""Reference application for the tgops lab: stands in for tgquiz backend-api / telegram-bot and the
toogoodtogo bot. Only Debian bookworm's python3 packages are available where it runs."""
