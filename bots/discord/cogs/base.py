"""What every cog shares: the bot it answers for."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bots.discord.main import LoraBot


class BotCog:
    """Mixed in before `commands.GroupCog`: keeps the bot (its daemon client and journeys)."""

    def __init__(self, bot: "LoraBot") -> None:
        self.bot = bot
        super().__init__()
