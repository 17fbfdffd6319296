"""Configuration of the reference application: required variables, exit 78, no values in messages."""
import subprocess
import sys

import pytest

from _app_fixtures import APP_DIR, BASE_ENV, subprocess_env

from app import config

REQUIRED = ["POSTGRES_PASSWORD", "SECRET_KEY", "TELEGRAM_BOT_TOKEN"]


def run(module, env, *args, timeout=20):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=APP_DIR, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.mark.parametrize("missing", [["SECRET_KEY"], ["TELEGRAM_BOT_TOKEN", "POSTGRES_PASSWORD"], REQUIRED])
@pytest.mark.parametrize("module", ["app.config", "app.api", "app.bot"])
def test_missing_required_variables_exit_78_naming_only_them(module, missing):
    env = {k: v for k, v in BASE_ENV.items() if k not in missing}
    proc = run(module, subprocess_env(**env))
    assert proc.returncode == 78
    lines = [line for line in proc.stderr.splitlines() if line.startswith("CRITICAL: ")]
    assert lines == ["CRITICAL: missing required environment variables: " + ", ".join(sorted(missing))]
    for value in env.values():
        assert value not in proc.stderr + proc.stdout


def test_empty_or_blank_values_count_as_missing():
    env = dict(BASE_ENV)
    env.update({"SECRET_KEY": "", "POSTGRES_PASSWORD": "   "})
    proc = run("app.config", subprocess_env(**env))
    assert proc.returncode == 78
    assert "CRITICAL: missing required environment variables: POSTGRES_PASSWORD, SECRET_KEY" in proc.stderr


def test_valid_configuration_prints_settings_with_secrets_masked():
    proc = run("app.config", subprocess_env(**dict(BASE_ENV, TELEGRAM_WEBHOOK_SECRET="hook-Secret-3",
                                                   REDIS_URL="redis://:redis-Pass-4@cache:6379/1",
                                                   APP_PLATFORM="toogoodtogo", PORT="8123")))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "OK: configuration valid" in out
    assert "TELEGRAM_BOT_TOKEN=***" in out and "SECRET_KEY=***" in out and "TELEGRAM_WEBHOOK_SECRET=***" in out
    assert "REDIS_URL=redis://:***@cache:6379/1" in out
    assert "APP_PLATFORM=toogoodtogo" in out and "PORT=8123" in out
    for secret in list(BASE_ENV.values()) + ["hook-Secret-3", "redis-Pass-4"]:
        assert secret not in out + proc.stderr


def test_app_env_file_is_read_and_the_environment_wins(tmp_path):
    dotenv = tmp_path / ".env.production"
    dotenv.write_text("# comment\nexport TELEGRAM_BOT_TOKEN='1:from-file'\nPOSTGRES_PASSWORD=\"file pw\"\n"
                      "SECRET_KEY=file-key # trailing comment\nPOSTGRES_DB=fromfile\nPORT=9000\n")
    settings = config.load({"APP_ENV_FILE": str(dotenv), "PORT": "8001"})
    assert settings.telegram_bot_token == "1:from-file"
    assert settings.postgres_password == "file pw"
    assert settings.secret_key == "file-key"
    assert settings.postgres_db == "fromfile"
    assert settings.port == 8001


def test_unreadable_env_file_is_a_configuration_error(tmp_path):
    proc = run("app.config", subprocess_env(APP_ENV_FILE=str(tmp_path / "absent.env")))
    assert proc.returncode == 78
    assert "CRITICAL: APP_ENV_FILE cannot be read" in proc.stderr


@pytest.mark.parametrize("name,value", [("PORT", "eighty"), ("DB_POOL_SIZE", "0"), ("POSTGRES_PORT", "-5")])
def test_invalid_numbers_are_rejected_by_name(name, value):
    proc = run("app.config", subprocess_env(**dict(BASE_ENV, **{name: value})))
    assert proc.returncode == 78
    assert "CRITICAL: invalid environment variables (positive number expected): %s" % name in proc.stderr


def test_zero_overflow_is_allowed():
    assert config.load(dict(BASE_ENV, DB_MAX_OVERFLOW="0", DB_POOL_SIZE="2")).db_max_overflow == 0


def test_defaults_and_version():
    settings = config.load(dict(BASE_ENV, TELEGRAM_API_URL="http://127.0.0.1:1/"))
    assert settings.port == 8000
    assert settings.postgres_host == "postgres" and settings.postgres_port == 5432
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.telegram_api_url == "http://127.0.0.1:1"  # trailing slash dropped
    assert settings.toncenter_api_url == "https://toncenter.com/api/v2"
    with open(APP_DIR + "/VERSION", encoding="utf-8") as fh:
        assert settings.version == fh.read().strip()
    assert settings.version.startswith("v")
