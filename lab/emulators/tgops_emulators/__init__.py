"""The lab's emulators of Telegram, toncenter, Pinata and Stripe (see lab/emulators/README.md)."""

EMULATORS = ("telegram", "toncenter", "pinata", "stripe")


def create_app(name, seed=None, **kwargs):
    """A fresh emulator instance by service name; kwargs go to its constructor."""
    if name == "telegram":
        from .telegram import TelegramEmulator as cls
    elif name == "toncenter":
        from .toncenter import ToncenterEmulator as cls
    elif name == "pinata":
        from .pinata import PinataEmulator as cls
    elif name == "stripe":
        from .stripe import StripeEmulator as cls
    else:
        raise ValueError("unknown emulator %r (choose from %s)" % (name, ", ".join(EMULATORS)))
    return cls(seed, **kwargs)
