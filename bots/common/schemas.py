"""What only the bots need beside the daemon's answers (those are read with `daemon.schemas`)."""

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict


class Actor(BaseModel):
    """The person a call is made for: `X-User: <platform>:<platform_user_id>`."""

    model_config = ConfigDict(frozen=True)

    platform: str
    user_id: str

    @property
    def header(self) -> str:
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True)
class Upload:
    """One image to upload: its file name, bytes and optional caption."""

    filename: str
    data: bytes
    caption: str | None = None
