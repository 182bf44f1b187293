"""What a flow shows: text, buttons and the input it waits for; the front-ends render it."""

from dataclasses import dataclass, field
from enum import StrEnum

from bots.common.actions import Action


class Expect(StrEnum):
    nothing = "nothing"  # only buttons move the conversation on
    text = "text"  # a typed answer (a name, a trigger word, a caption)
    images = "images"  # photos, albums or image files


@dataclass(frozen=True)
class Button:
    """A button: `action` and `arg` come back when it is pressed (kept short for Telegram)."""

    label: str
    action: Action
    arg: str = ""

    def __post_init__(self) -> None:
        # A lazy text (`bots.common.i18n._`) is fixed in the locale of the person shown it.
        object.__setattr__(self, "label", str(self.label))


@dataclass
class Screen:
    """One message of a conversation."""

    text: str
    rows: list[list[Button]] = field(default_factory=list)
    expects: Expect = Expect.nothing
    # The prompt of a typed answer, for front-ends that ask in a form (Discord modals).
    prompt: str = ""
    suggestion: str = ""

    def __post_init__(self) -> None:
        # Lazy texts (`bots.common.i18n._`) are fixed in the locale of the person shown them.
        self.text, self.prompt = str(self.text), str(self.prompt)

    @property
    def buttons(self) -> list[Button]:
        return [b for row in self.rows for b in row]


@dataclass(frozen=True)
class FormField:
    """One typed answer of a form."""

    name: str  # the answer's key
    label: str
    value: str  # prefilled


@dataclass(frozen=True)
class Form:
    """Several typed answers asked at once, for front-ends that can (Discord: a modal)."""

    title: str
    fields: list[FormField]


class StaleAction(Exception):
    """A button or answer that does not fit the conversation's current step."""


def chunk(buttons: list[Button], per_row: int) -> list[list[Button]]:
    """Lay buttons out in rows of `per_row`."""
    return [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
