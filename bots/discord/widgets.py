"""Discord widgets: one persistent button class for every screen, and a one-field modal."""

from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bots.common import texts
from bots.common.screens import Button, Expect, Screen
from bots.discord.errors import report

# custom_id: lb:<feature>:<owner>:<token>:<action>:<arg>  (feature t = training, l = lists)
TEMPLATE = (
    r"lb:(?P<feature>[tl]):(?P<owner>\d+):(?P<token>[\w-]*):(?P<action>[a-z]+):(?P<arg>[^:]*)"
)

ButtonHandler = Callable[[discord.Interaction[Any], "FlowButton"], Awaitable[None]]
MAX_ROWS = 5
MAX_PER_ROW = 5


class FlowButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    """A button whose custom_id carries everything, so it works after a restart too."""

    def __init__(
        self, feature: str, owner: int, token: str, action: str, arg: str, label: str = "·"
    ) -> None:
        self.feature, self.owner, self.token = feature, owner, token
        self.action, self.arg = action, arg
        custom_id = f"lb:{feature}:{owner}:{token}:{action}:{arg}"
        style = discord.ButtonStyle.success if action == "ok" else discord.ButtonStyle.secondary
        if action in ("no", "jc", "dsd"):
            style = discord.ButtonStyle.danger
        super().__init__(discord.ui.Button(label=label[:80], style=style, custom_id=custom_id))

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Button[Any],
        match: Any,
        /,
    ) -> "FlowButton":
        g = match.groupdict()
        return cls(
            g["feature"], int(g["owner"]), g["token"], g["action"], g["arg"], item.label or "·"
        )

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        """Only the person who owns the conversation may press (anyone can click in a channel)."""
        if interaction.user.id == self.owner:
            return True
        await interaction.response.send_message(texts.FOREIGN_BUTTON, ephemeral=True)
        return False

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        handler: ButtonHandler = interaction.client.button_handlers[self.feature]  # type: ignore[attr-defined]
        try:
            await handler(interaction, self)
        except Exception as exc:
            await report(interaction, exc)


class TextModal(discord.ui.Modal):
    """Asks for one line of text; keeps the answer and the submitting interaction on self."""

    def __init__(self, title: str, label: str, default: str = "") -> None:
        super().__init__(title=title[:45], timeout=600)
        self.field: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=label[:45], default=default or None, max_length=500
        )
        self.add_item(self.field)
        self.value: str | None = None
        self.interaction: discord.Interaction[Any] | None = None

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        self.value, self.interaction = self.field.value, interaction
        self.stop()


def screen_view(screen: Screen, feature: str, owner: int, token: str = "") -> discord.ui.View:
    """A View of the screen's buttons; a typed answer gets a ✎ button that opens a modal."""
    view = discord.ui.View(timeout=None)
    rows = list(screen.rows)
    if screen.expects is Expect.text:
        rows.insert(0, [Button(f"✎ {screen.prompt or 'Answer'}", "ask")])
    for index, row in enumerate(rows[:MAX_ROWS]):
        for b in row[:MAX_PER_ROW]:
            item = FlowButton(feature, owner, token, b.action, b.arg, b.label)
            item.item.row = index
            view.add_item(item)
    return view
