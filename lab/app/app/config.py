"""Settings from the environment (and an optional dotenv file named by APP_ENV_FILE).

Required: TELEGRAM_BOT_TOKEN, POSTGRES_PASSWORD, SECRET_KEY. When one is missing or empty the
process logs ``CRITICAL: missing required environment variables: A, B`` (names only) and exits 78
(EX_CONFIG). ``python3 -m app.config`` validates and prints the effective settings, secrets masked.
"""
import os
import sys
from dataclasses import dataclass, fields
from pathlib import Path

EX_CONFIG = 78
REQUIRED = ("TELEGRAM_BOT_TOKEN", "POSTGRES_PASSWORD", "SECRET_KEY")
SECRET_FIELDS = ("telegram_bot_token", "postgres_password", "secret_key", "telegram_webhook_secret",
                 "toncenter_api_key", "pinata_api_key", "pinata_secret_key", "stripe_api_key")
VERSION_FILE = Path(__file__).resolve().parent.parent / "VERSION"


class ConfigError(Exception):
    """The environment cannot be used; the message names variables, never values."""


def parse_dotenv(text):
    """Parse KEY=VALUE lines (``export`` prefix, comments, single/double quotes)."""
    values = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        key, _sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        if key:
            values[key] = value
    return values


def read_environment(environ=None):
    """The process environment over the APP_ENV_FILE dotenv file (the environment wins)."""
    environ = dict(os.environ if environ is None else environ)
    path = environ.get("APP_ENV_FILE")
    if not path:
        return environ
    try:
        merged = parse_dotenv(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError("APP_ENV_FILE cannot be read: %s (%s)" % (path, exc.strerror or exc)) from None
    merged.update(environ)
    return merged


def read_version():
    try:
        return VERSION_FILE.read_text(encoding="utf-8").strip() or "unknown"
    except OSError:
        return "unknown"


@dataclass(frozen=True)
class Settings:
    telegram_bot_token: str
    postgres_password: str
    secret_key: str
    app_platform: str = "tgquiz"
    port: int = 8000
    postgres_host: str = "postgres"
    postgres_port: int = 5432
    postgres_user: str = "postgres"
    postgres_db: str = "postgres"
    db_pool_size: int = 5
    db_max_overflow: int = 5
    redis_url: str = "redis://redis:6379/0"
    telegram_api_url: str = "https://api.telegram.org"
    telegram_webhook_secret: str = ""
    toncenter_api_url: str = "https://toncenter.com/api/v2"
    toncenter_api_key: str = ""
    ton_wallet_address: str = ""
    pinata_api_url: str = "https://api.pinata.cloud"
    pinata_api_key: str = ""
    pinata_secret_key: str = ""
    stripe_api_url: str = "https://api.stripe.com"
    stripe_api_key: str = ""
    monitor_interval: float = 10.0
    slow_query_seconds: float = 1.0
    mint_worker_interval: float = 0.0  # 0: the API does not mint in the background
    version: str = "unknown"

    def secrets(self):
        """Every configured secret value (for log redaction)."""
        values = [getattr(self, name) for name in SECRET_FIELDS]
        values.append(redis_password(self.redis_url))
        return [v for v in values if v]

    def masked(self):
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS:
                value = "***" if value else ""
            elif f.name == "redis_url" and redis_password(value):
                value = value.replace(redis_password(value), "***")
            out[f.name.upper()] = value
        return out


def redis_password(url):
    netloc = url.split("://", 1)[-1].split("/", 1)[0]
    if "@" not in netloc:
        return ""
    userinfo = netloc.rsplit("@", 1)[0]
    return userinfo.split(":", 1)[1] if ":" in userinfo else ""


_INTS = {"PORT": "port", "POSTGRES_PORT": "postgres_port", "DB_POOL_SIZE": "db_pool_size",
         "DB_MAX_OVERFLOW": "db_max_overflow"}
_FLOATS = {"MONITOR_INTERVAL_SECONDS": "monitor_interval", "SLOW_QUERY_SECONDS": "slow_query_seconds",
           "MINT_WORKER_INTERVAL_SECONDS": "mint_worker_interval"}
_ZERO_OK = ("DB_MAX_OVERFLOW", "MINT_WORKER_INTERVAL_SECONDS")
_URLS = ("telegram_api_url", "toncenter_api_url", "pinata_api_url", "stripe_api_url")


def load(environ=None):
    """Build Settings or raise ConfigError naming the offending variables."""
    env = read_environment(environ)
    missing = sorted(name for name in REQUIRED if not env.get(name, "").strip())
    if missing:
        raise ConfigError("missing required environment variables: " + ", ".join(missing))
    kwargs = {name.lower(): env[name].strip() for name in REQUIRED}
    invalid = []
    for f in fields(Settings):
        key = f.name.upper()
        if f.name in kwargs or f.name == "version" or key in _INTS or key in _FLOATS:
            continue
        value = env.get(key, "").strip()
        if value:
            kwargs[f.name] = value
    for table, kind in ((_INTS, int), (_FLOATS, float)):
        for key, attr in table.items():
            value = env.get(key, "").strip()
            if not value:
                continue
            try:
                number = kind(value)
                if number < 0 or (number == 0 and key not in _ZERO_OK):
                    raise ValueError
                kwargs[attr] = number
            except ValueError:
                invalid.append(key)
    if invalid:
        raise ConfigError("invalid environment variables (positive number expected): " + ", ".join(sorted(invalid)))
    for attr in _URLS:
        if attr in kwargs:
            kwargs[attr] = kwargs[attr].rstrip("/")
    kwargs["version"] = read_version()
    return Settings(**kwargs)


def load_or_exit(environ=None):
    try:
        return load(environ)
    except ConfigError as exc:
        sys.stderr.write("CRITICAL: %s\n" % exc)
        sys.stderr.flush()
        sys.exit(EX_CONFIG)


def main():
    settings = load_or_exit()
    for key, value in settings.masked().items():
        print("%s=%s" % (key, value))
    print("OK: configuration valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
