"""The daemon's answers as the bots read them; unknown fields are ignored, so the RPC may grow."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Actor(_Answer):
    """The person a call is made for: `X-User: <platform>:<platform_user_id>`."""

    model_config = ConfigDict(frozen=True)

    platform: str
    user_id: str

    @property
    def header(self) -> str:
        return f"{self.platform}:{self.user_id}"


class IdentityOut(_Answer):
    platform: str
    platform_user_id: str


class AccountOut(_Answer):
    id: int
    balance: int
    identities: list[IdentityOut] = Field(default_factory=list)


class LinkCodeOut(_Answer):
    code: str
    expires_at: datetime | None = None
    expires_in_seconds: int = 600


class LedgerEntryOut(_Answer):
    id: int
    delta: int
    kind: str
    reference: str | None = None
    created_at: datetime | None = None


class PresetOut(_Answer):
    model_config = ConfigDict(extra="allow")

    steps: int | None = None
    rank: int | None = None
    learning_rate: float | None = None
    resolution: int | None = None


class OfferingOut(_Answer):
    id: str
    title: str = ""
    family: str = ""
    enabled: bool = True
    resolution: int | None = None
    min_images: int | None = None
    max_images: int | None = None
    presets: dict[str, PresetOut] = Field(default_factory=dict)


class DatasetOut(_Answer):
    id: int
    name: str
    trigger_word: str | None = None
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    visibility: str = "private"
    image_count: int = 0


class ImageOut(_Answer):
    id: int
    filename: str = ""
    width: int = 0
    height: int = 0
    caption: str = ""


class RefusedImage(_Answer):
    filename: str
    code: str
    message: str


class UploadOut(_Answer):
    added: list[ImageOut] = Field(default_factory=list)
    refused: list[RefusedImage] = Field(default_factory=list)


class Problem(_Answer):
    code: str
    message: str


class EstimateOut(_Answer):
    model_config = ConfigDict(extra="allow")

    ok: bool
    cost: int = 0
    estimated_seconds: float = 0.0
    vram_gb: float | None = None
    warnings: list[Problem] = Field(default_factory=list)
    errors: list[Problem] = Field(default_factory=list)
    queue_ahead: int = 0
    starts_in_seconds: float = 0.0


class ProgressOut(_Answer):
    step: int = 0
    total_steps: int = 0
    loss: float | None = None
    eta_seconds: float | None = None


class JobOut(_Answer):
    id: int
    status: str
    stage: str | None = None
    cost: int = 0
    queue_position: int | None = None
    progress: ProgressOut = Field(default_factory=ProgressOut)
    model_id: int | None = None
    error: str | None = None
    dataset_id: int | None = None
    offering_id: str | None = None
    preset: str | None = None
    refunded: int | None = None
    created_at: datetime | None = None

    @property
    def is_final(self) -> bool:
        return self.status in ("completed", "failed", "cancelled")


class ModelFileOut(_Answer):
    name: str
    role: str | None = None  # lora_diffusers, lora_kohya, loss_curve, samples, summary
    kind: str = ""  # lora, image, json
    size: int | None = None


class ModelOut(_Answer):
    id: int
    name: str = ""
    trigger_word: str | None = None
    offering_id: str | None = None
    job_id: int | None = None
    format: str | None = None
    files: list[ModelFileOut] = Field(default_factory=list)


class NotificationOut(_Answer):
    id: int
    kind: str
    account_id: int | None = None
    platform: str
    platform_user_id: str
    payload: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None


@dataclass(frozen=True)
class Upload:
    """One image to upload: its file name, bytes and optional caption."""

    filename: str
    data: bytes
    caption: str | None = None
