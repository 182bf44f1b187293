"""docker-compose.yml cannot run here (no Docker engine), so read it and check it holds up."""

import re
from pathlib import Path

import yaml

from bots.common.settings import BotSettings
from core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


REPLICAS = ("daemon-a", "daemon-b")


def test_every_service_runs_a_real_command() -> None:
    services = _compose()["services"]
    assert set(services) >= {"postgres", "s3", "ray-head", "gpu-worker", "proxy", *REPLICAS}
    for name in ("telegram", "discord"):
        assert services[name]["command"] == ["lorabot", name]
    for name in REPLICAS:  # join the Ray cluster as a node without resources, then serve
        script = services[name]["command"][-1]
        assert "ray start --address=ray-head:6379 --num-cpus=0 --num-gpus=0" in script
        assert script.endswith("exec lorabot daemon")
    assert services["ray-head"]["command"][:3] == ["ray", "start", "--head"]
    assert "--address=ray-head:6379" in services["gpu-worker"]["command"]


def test_daemon_env_names_are_settings() -> None:
    known = {f"LORABOT_{name.upper()}" for name in Settings.model_fields}
    for name in REPLICAS:
        env = _compose()["services"][name]["environment"]
        assert set(env) - {"<<"} <= known


def test_replicas_share_the_database_the_store_and_the_cluster() -> None:
    services = _compose()["services"]
    a, b = (services[name]["environment"] for name in REPLICAS)
    assert a == b
    assert re.match(
        r"postgresql\+asyncpg://lorabot:.+@postgres:5432/lorabot", a["LORABOT_DATABASE_URL"]
    )
    assert (
        a["LORABOT_BLOBS_URL"].startswith("s3://")
        and a["LORABOT_S3_ENDPOINT_URL"] == "http://s3:8333"
    )
    assert (a["LORABOT_EXECUTOR"], a["LORABOT_RAY_ADDRESS"]) == ("ray", "ray-head:6379")
    volumes = [services[name]["volumes"] for name in REPLICAS]
    assert volumes[0] != volumes[1]  # job folders are each replica's own


def test_bots_reach_the_replicas_through_the_proxy() -> None:
    services = _compose()["services"]
    for name in ("telegram", "discord"):
        assert services[name]["environment"]["LORABOT_DAEMON_URL"] == "http://proxy:8765"
        assert "proxy" in services[name]["depends_on"]
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    mounted = services["proxy"]["volumes"][0].split(":")[0]
    assert mounted == "./deploy/nginx.conf"
    for name in REPLICAS:
        assert f"server {name}:8765" in conf


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


def test_telegram_takes_updates_on_a_webhook_behind_the_proxy() -> None:
    env = _compose()["services"]["telegram"]["environment"]
    assert env["LORABOT_TELEGRAM_WEBHOOK_URL"].startswith("${LORABOT_TELEGRAM_WEBHOOK_URL:?")
    assert env["LORABOT_TELEGRAM_WEBHOOK_HOST"] == "0.0.0.0"  # reachable from the proxy
    path, port = env["LORABOT_TELEGRAM_WEBHOOK_PATH"], env["LORABOT_TELEGRAM_WEBHOOK_PORT"]
    # Unset, the secret is derived from the token, the same for every replica.
    assert env["LORABOT_TELEGRAM_WEBHOOK_SECRET"] == "${LORABOT_TELEGRAM_WEBHOOK_SECRET:-}"
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    block = re.search(rf"location = {re.escape(path)} \{{(.*?)\}}", conf, re.DOTALL)
    assert block is not None, f"no nginx location for {path}"
    target = re.search(r"set \$(\w+) (\S+);\s*proxy_pass http://\$(\w+);", block.group(1))
    assert target is not None and target.group(1) == target.group(3)
    assert target.group(2) == f"telegram:{port}"
