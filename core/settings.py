"""Settings of the daemon, read from `LORABOT_*` environment variables."""

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED_OFFERINGS = Path(__file__).with_name("offerings.toml")
BUNDLED_ECONOMY = Path(__file__).with_name("economy.toml")

MB = 1024 * 1024


class Settings(BaseSettings):
    """Everything an operator can set; embedded defaults need nothing else running."""

    model_config = SettingsConfigDict(env_prefix="LORABOT_", extra="ignore")

    data_dir: Path = Field(Path("./var"), description="Where the database, blobs and caches live.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: SQLite file `lorabot.sqlite3` in DATA_DIR."
    )
    host: str = Field("127.0.0.1", description="Address the daemon listens on.")
    port: int = Field(8765, description="Port the daemon listens on.")
    header_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="A connection that has not sent a whole request head this long after "
        "opening (or after its last answer) is closed.",
    )
    rpc_token: SecretStr | None = Field(None, description="Bearer token of the bots' RPC calls.")
    admin_token: SecretStr | None = Field(
        None, description="Bearer token of admin calls; admin routes refuse all while unset."
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="Bearer token that `/metrics` asks for; while unset only loopback clients "
        "may read it.",
    )
    blobs_url: str = Field(
        "",
        description="Where blobs live: empty or `file:` for DATA_DIR/blobs, or "
        "`s3://bucket/prefix` for an S3-compatible store (with the `s3_*` settings).",
    )
    s3_endpoint_url: str | None = Field(
        None, description="The S3 API's URL (MinIO, SeaweedFS...); default: AWS S3 of the region."
    )
    s3_region: str = Field("us-east-1", description="The S3 region requests are signed for.")
    s3_access_key_id: str | None = Field(
        None, description="S3 access key id; default: botocore's own chain (env, instance role)."
    )
    s3_secret_access_key: SecretStr | None = Field(None, description="S3 secret access key.")
    offerings_file: Path = Field(BUNDLED_OFFERINGS, description="TOML file of offerings.")
    economy_file: Path = Field(
        BUNDLED_ECONOMY, description="TOML file of point packs and marketplace rules."
    )
    telegram_token: SecretStr | None = Field(
        None,
        description="Telegram Bot API token (the daemon uses it only to refund Telegram Stars "
        "purchases, `refundStarPayment`).",
    )
    stars_reconcile_seconds: float = Field(
        600.0,
        gt=0,
        description="How often the daemon reads the bot's Star transactions to credit payments "
        "the bot could not pass on (with LORABOT_TELEGRAM_TOKEN set).",
    )
    telegram_api_base: str | None = Field(
        None, description="Base URL of a local Bot API server instead of api.telegram.org."
    )

    max_image_bytes: int = Field(25 * MB, description="Largest accepted image file.")
    max_image_pixels: int = Field(40_000_000, description="Most pixels (width × height).")
    max_images_per_dataset: int = Field(200, description="Images a dataset may hold.")
    max_upload_bytes: int = Field(200 * MB, description="Largest multipart upload request.")
    account_quota_bytes: int = Field(2_000 * MB, description="Stored image bytes per account.")
    max_caption_chars: int = Field(500, description="Longest image caption.")

    rate_limit_per_minute: int = Field(
        240, description="RPC calls one person may make per minute, sustained (0: no limit)."
    )
    rate_limit_burst: int = Field(60, description="RPC calls one person may make at once.")
    workers: int = Field(1, description="Local training slots (one per GPU).")
    gpus: str | None = Field(
        None,
        description="Comma-separated GPU ids for the local worker slots; default: every GPU "
        "`nvidia-smi -L` lists (none: CPU).",
    )
    run_queue: bool = Field(
        True,
        description="Dispatch queued jobs to workers in this daemon; false serves the RPC only "
        "(jobs wait in the queue for a daemon that runs it).",
    )
    lease_seconds: float = Field(30.0, description="A worker's lease; renewed by heartbeats.")
    stall_seconds: float = Field(600.0, description="No progress for this long: kill and retry.")
    max_attempts: int = Field(3, description="Attempts of a job before it fails for good.")
    generation_idle_seconds: float = Field(
        300.0,
        gt=0,
        description="A generation worker keeps its pipeline loaded for the next generation "
        "and exits after this long without one.",
    )
    executor: Literal["local", "ray"] = Field(
        "local",
        description="Where workers run: `local` processes on this host, or `ray` actors on the "
        "GPU hosts of a Ray cluster (needs the `lorabot[ray]` extra).",
    )
    ray_address: str = Field(
        "127.0.0.1:6379",
        description="The Ray cluster's GCS address (host:port) the daemon joins as a driver.",
    )
    ray_resource: str = Field(
        "GPU", description="The Ray resource each attempt's actor asks one unit of."
    )
    ray_slots: int = Field(1, ge=1, description="Attempts the Ray executor runs at once.")
    ray_worker_data_dir: Path | None = Field(
        None,
        description="The worker hosts' own DATA_DIR for base models and caches; default: "
        "`lorabot-worker` in each host's temporary folder.",
    )
    link_code_ttl_seconds: int = Field(600, description="Lifetime of an account link code.")
    public_url: str | None = Field(
        None,
        description="Where people reach the daemon's web dashboard (the base of the sign-in "
        "links the bots send); default: http://127.0.0.1:<port>.",
    )
    web_link_ttl_seconds: int = Field(
        600, gt=0, description="Lifetime of a one-time web sign-in link."
    )
    web_session_ttl_seconds: int = Field(
        7 * 24 * 3600, gt=0, description="Lifetime of a web dashboard session."
    )
    web_secure_cookies: bool = Field(
        False,
        description="Mark the dashboard's cookies Secure even when the request reaching the "
        "daemon is plain HTTP (behind a TLS-terminating proxy); over TLS they always are.",
    )
    notification_lease_seconds: float = Field(
        60.0, description="A fetched, unacknowledged notification is served again after this."
    )
    notification_max_deliveries: int = Field(
        30, description="Failed deliveries after which a notification is served no more."
    )
    latent_cache_budget_bytes: int = Field(5_000 * MB, description="Size budget of latent caches.")
    log_level: str = Field("INFO", description="Log level of the structlog JSON logs.")
    check_answers: bool = Field(
        False,
        description="Check every answer against the model `/openapi.json` documents for it and "
        "log each mismatch as `answer_mismatch` (the test suite turns it on).",
    )

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'lorabot.sqlite3').resolve()}"

    @property
    def web_base_url(self) -> str:
        """The dashboard's base URL, without a trailing slash."""
        return (self.public_url or f"http://127.0.0.1:{self.port}").rstrip("/")

    @property
    def gpu_ids(self) -> list[str] | None:
        """The configured GPU ids, or None to detect them."""
        if self.gpus is None:
            return None
        return [gpu.strip() for gpu in self.gpus.split(",") if gpu.strip()]

    @property
    def blobs_dir(self) -> Path:
        return self.data_dir / "blobs"
