"""Settings of the bots, read from `LORABOT_*` environment variables."""

import re
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# What Telegram accepts as a webhook's `secret_token` (Bot API, setWebhook).
WEBHOOK_SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class BotSettings(BaseSettings):
    """What a bot process needs: its platform token and the way to the daemon."""

    model_config = SettingsConfigDict(env_prefix="LORABOT_", extra="ignore", env_ignore_empty=True)

    telegram_token: SecretStr | None = Field(None, description="Telegram Bot API token.")
    discord_token: SecretStr | None = Field(None, description="Discord bot token.")
    daemon_url: str = Field("http://127.0.0.1:8765", description="Base URL of the daemon's RPC.")
    rpc_token: SecretStr | None = Field(None, description="Bearer token of the RPC calls.")
    telegram_api_base: str | None = Field(
        None, description="Base URL of a local Bot API server instead of api.telegram.org."
    )
    discord_api_base: str | None = Field(
        None, description="Base URL of the Discord REST API (e.g. a proxy), ending in /api/v10."
    )
    discord_gateway: str | None = Field(None, description="Discord gateway URL (ws:// or wss://).")
    discord_guild_id: int | None = Field(
        None, description="Sync slash commands to this guild only (instant) instead of globally."
    )
    discord_max_attachment_bytes: int = Field(
        25 * 1024 * 1024,
        description="Largest Discord attachment the bot downloads; larger ones are refused.",
    )
    progress_interval: float = Field(
        10.0, description="Least seconds between two edits of progress messages in one chat."
    )
    notification_wait: float = Field(25.0, description="Long-poll wait for notifications.")
    log_level: str = Field("INFO", description="Log level.")
    telegram_webhook_url: str | None = Field(
        None,
        description="Public HTTPS URL Telegram posts updates to; set, the Telegram bot serves "
        "this webhook instead of long polling (`lorabot telegram --webhook URL` sets it too).",
    )
    telegram_webhook_host: str = Field(
        "127.0.0.1", description="Address the Telegram bot's webhook server listens on."
    )
    telegram_webhook_port: int = Field(
        8080, description="Port the Telegram bot's webhook server listens on."
    )
    telegram_webhook_path: str | None = Field(
        None,
        description="Path the webhook server answers on; default: the path of the webhook URL.",
    )
    telegram_webhook_secret: SecretStr | None = Field(
        None,
        description="The webhook's secret token (1-256 of A-Z a-z 0-9 _ -), the same on every "
        "replica; default: derived from the bot token.",
    )

    @field_validator("telegram_webhook_url")
    @classmethod
    def _webhook_url(cls, url: str | None) -> str | None:
        if url is not None:
            parts = urlsplit(url)
            if parts.scheme not in ("https", "http") or not parts.hostname:
                raise ValueError(
                    f"the Telegram webhook URL must be an https:// URL (http:// only with a "
                    f"local Bot API server), not {url!r}"
                )
        return url

    @field_validator("telegram_webhook_path")
    @classmethod
    def _webhook_path(cls, path: str | None) -> str | None:
        if path is not None and not path.startswith("/"):
            raise ValueError(f"the Telegram webhook path must start with '/', not {path!r}")
        return path

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _webhook_secret(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and not WEBHOOK_SECRET_PATTERN.fullmatch(secret.get_secret_value()):
            raise ValueError("the Telegram webhook secret must be 1-256 of A-Z a-z 0-9 _ -")
        return secret
