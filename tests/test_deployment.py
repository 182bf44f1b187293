"""docker-compose.yml cannot run here (no Docker engine), so read it and check it holds up."""

import re
from pathlib import Path

import yaml

from bots.common.settings import BotSettings
from core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_service_runs_a_real_command() -> None:
    services = _compose()["services"]
    assert set(services) >= {"postgres", "daemon", "telegram", "discord"}
    for name in ("daemon", "telegram", "discord"):
        assert services[name]["command"][0] == "lorabot"
        assert services[name]["command"][1] == name


def test_daemon_env_names_are_settings() -> None:
    known = {f"LORABOT_{name.upper()}" for name in Settings.model_fields}
    env = _compose()["services"]["daemon"]["environment"]
    assert set(env) - {"<<"} <= known


def test_bots_reach_the_daemon_by_service_name() -> None:
    services = _compose()["services"]
    for name in ("telegram", "discord"):
        assert services[name]["environment"]["LORABOT_DAEMON_URL"] == "http://daemon:8765"
        assert "daemon" in services[name]["depends_on"]


def test_daemon_uses_postgres_service() -> None:
    url = _compose()["services"]["daemon"]["environment"]["LORABOT_DATABASE_URL"]
    assert re.match(r"postgresql\+asyncpg://lorabot:.+@postgres:5432/lorabot", url)


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    names = [*Settings.model_fields, *BotSettings.model_fields]
    missing = [f"LORABOT_{n.upper()}" for n in names if f"`LORABOT_{n.upper()}`" not in readme]
    assert missing == []


def test_bot_env_names_are_settings() -> None:
    known = {f"LORABOT_{name.upper()}" for name in BotSettings.model_fields}
    for name in ("telegram", "discord"):
        env = _compose()["services"][name]["environment"]
        assert set(env) - {"<<"} <= known
