"""What a bot sends outside a screen: texts with buttons, files, albums and live samples."""

from dataclasses import dataclass, field
from enum import StrEnum

from bots.common.screens import Button


class OutKind(StrEnum):
    text = "text"  # a plain message (with buttons, if any)
    document = "document"  # a file kept byte-exact (the LoRA)
    photo = "photo"  # an image shown inline (loss curve, samples)
    album = "album"  # several photos (`parts`) shown as one message, buttons below
    sample = "sample"  # a job's newest sample: one message per job (`key`), edited afterwards


@dataclass(frozen=True)
class Outgoing:
    """One message to send: a text, or a file with a caption."""

    kind: OutKind
    text: str = ""
    filename: str = ""
    data: bytes = b""
    rows: list[list[Button]] = field(default_factory=list)
    parts: list["Outgoing"] = field(default_factory=list)  # an album's photos, in order
    key: int | None = None  # a sample's job id: the next sample of that job edits its message

    def __post_init__(self) -> None:
        # A lazy text (`bots.common.i18n._`) is fixed in the locale of the person sent it.
        object.__setattr__(self, "text", str(self.text))
