"""Settings of the bots, read from `LORABOT_*` environment variables."""

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
