"""Discord's buttons: one persistent `DynamicItem` for every action, one for typed answers.

A button's custom_id carries everything (action, owner, journey token, argument), so a button
still works after a restart; its press goes through `bots.common.dispatch` like Telegram's.

Every press is acknowledged before the daemon is asked anything (`bots.discord.answering`):
deferred as an update of its message, or — for the buttons in `MODALS` and ✎ — answered by
opening the modal at once, from what the button itself carries.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Self

import discord

from bots.common import captions, library, media_texts, texts
from bots.common.actions import Action
from bots.common.advanced import AdvancedSettings
from bots.common.dispatch import Outcome, Place, Press, dispatch
from bots.common.progress import Render, cancel_row
from bots.common.screens import Button, Expect, Screen, StaleAction
from bots.discord.answering import acknowledge_update, answer
from bots.discord.care import ask_care
from bots.discord.errors import report
from bots.discord.i18n import localize
from bots.discord.journeys import Talk
from bots.discord.render import ViewOf, actor, content, send_outgoing
from bots.discord.widgets import CaptionFixModal, FormModal, TextModal
from daemon.schemas import JobOut, ResumedMessageOut

if TYPE_CHECKING:
    from bots.discord.main import LoraBot

# The action group lists the codes, so only a known action parses (custom_id: 100 characters).
ACTION_TEMPLATE = (
    rf"lb:(?P<action>{'|'.join(re.escape(a) for a in Action)}):(?P<owner>\d+)"
    r":(?P<token>[\w-]*):(?P<arg>[^:]*)"
)
# The suggestion (the modal's default) rides along when it fits, so ✎ opens without a lookup.
ANSWER_TEMPLATE = r"lbt:(?P<owner>\d+):(?P<token>[\w-]+)(?::(?P<suggestion>.*))?"
MAX_CUSTOM_ID = 100
MAX_ROWS = 5
MAX_PER_ROW = 5
STYLES = {
    Action.confirm: discord.ButtonStyle.success,
    Action.cancel: discord.ButtonStyle.danger,
    Action.cancel_job: discord.ButtonStyle.danger,
    Action.delete_dataset: discord.ButtonStyle.danger,
}


class _OwnedButton:
    """What both persistent buttons share: rebuilt from the custom_id Discord sends back with
    its label, and pressable only by the person who owns the screen."""

    owner: int
    default_label: ClassVar[str]

    @classmethod
    def parse(cls, match: re.Match[str], label: str) -> Self:
        """The button its custom_id's template `match` and `label` describe."""
        raise NotImplementedError

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[LoraBot],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        return cls.parse(match, getattr(item, "label", None) or cls.default_label)

    async def interaction_check(self, interaction: discord.Interaction[LoraBot], /) -> bool:
        # The person's language first: one quick lookup (at most a second, see
        # `client_languages`), so the modal or the answer is in their words, still in time.
        await localize(interaction)
        # Anyone can click in a channel; only the owner's presses count.
        if interaction.user.id != self.owner:
            await interaction.response.send_message(str(texts.FOREIGN_BUTTON), ephemeral=True)
            return False
        if not self.opens_modal:
            await acknowledge_update(interaction)
        return True

    @property
    def opens_modal(self) -> bool:
        """Whether the press is answered by a modal (then it must be the first answer)."""
        return True


class ActionButton(
    _OwnedButton, discord.ui.DynamicItem[discord.ui.Button[Any]], template=ACTION_TEMPLATE
):
    """A button of a screen: pressing it dispatches its action."""

    default_label = "·"

    def __init__(
        self, action: Action, owner: int, token: str = "", arg: str = "", label: str = "·"
    ) -> None:
        self.action, self.owner, self.token, self.arg = action, owner, token, arg
        super().__init__(
            discord.ui.Button(
                label=label[:80],
                style=STYLES.get(action, discord.ButtonStyle.secondary),
                custom_id=f"lb:{action}:{owner}:{token}:{arg}",
            )
        )

    @classmethod
    def parse(cls, match: re.Match[str], label: str) -> Self:
        owner, token, arg = int(match["owner"]), match["token"], match["arg"]
        return cls(Action(match["action"]), owner, token, arg, label)

    @property
    def opens_modal(self) -> bool:
        return self.action in MODALS

    async def callback(self, interaction: discord.Interaction[LoraBot]) -> None:
        bot, user = interaction.client, interaction.user
        try:
            opener = MODALS.get(self.action)
            if opener is not None:
                await opener(interaction, self)
                return
            async with bot.journeys.lock(user.id):
                talk = await bot.journeys.load(user)
                outcome = await dispatch(bot.client, self._press(interaction, talk))
                if outcome.journey is not None:
                    talk.keep(outcome.journey, interaction.channel_id)
                if outcome.generating is not None:
                    talk.held.generating = outcome.generating
                await bot.journeys.save(talk)
                await show(interaction, outcome)
        except Exception as exc:
            await report(interaction, exc)

    def _press(self, interaction: discord.Interaction[LoraBot], talk: Talk) -> Press:
        return Press(
            self.action,
            self.arg,
            self.token,
            actor(interaction.user),
            talk.held.train,
            {"channel_id": interaction.channel_id, "guild_id": interaction.guild_id},
            talk.held.generating,
        )


class AnswerButton(
    _OwnedButton, discord.ui.DynamicItem[discord.ui.Button[Any]], template=ANSWER_TEMPLATE
):
    """✎ on a screen that waits for a typed answer: a button cannot be answered in text, so
    it opens a modal whose answer goes to the journey like a typed reply on Telegram."""

    default_label = "✎"

    def __init__(self, owner: int, token: str, label: str = "✎", suggestion: str = "") -> None:
        self.owner, self.token = owner, token
        custom_id = f"lbt:{owner}:{token}"
        if suggestion and len(custom_id) + 1 + len(suggestion) <= MAX_CUSTOM_ID:
            custom_id += f":{suggestion}"
        self.suggestion = suggestion if custom_id.endswith(f":{suggestion}") else ""
        # The label reads "✎ <prompt>": the modal asks for the same thing.
        self.prompt = label.removeprefix(self.default_label).strip() or str(texts.ANSWER)
        super().__init__(discord.ui.Button(label=label[:80], custom_id=custom_id))

    @classmethod
    def parse(cls, match: re.Match[str], label: str) -> Self:
        return cls(int(match["owner"]), match["token"], label, match["suggestion"] or "")

    async def callback(self, interaction: discord.Interaction[LoraBot]) -> None:
        bot, user = interaction.client, interaction.user
        modal = TextModal(self.prompt, self.prompt, self.suggestion)
        await interaction.response.send_modal(modal)
        if await modal.wait() or modal.interaction is None or modal.value is None:
            return  # timed out: nothing changes
        try:
            async with bot.journeys.lock(user.id):
                talk = await bot.journeys.load(user)
                screen = await talk.answerable(bot.client, self.token).text(modal.value)
                await bot.journeys.save(talk)
            await respond(modal.interaction, screen, self.token)
        except Exception as exc:
            await report(modal.interaction, exc)


def views_for(owner: int) -> ViewOf:
    """Views of buttons outside a conversation (under notifications and files) for `owner`."""
    return lambda rows: screen_view(Screen("", rows), owner)


def screen_view(screen: Screen, owner: int, token: str = "") -> discord.ui.View:
    """A View of the screen's buttons; a typed answer gets a ✎ button that opens a modal."""
    view = discord.ui.View(timeout=None)
    rows: list[list[discord.ui.Item[Any]]] = []
    if screen.expects is Expect.text:
        label = f"✎ {screen.prompt or texts.ANSWER}"
        rows.append([AnswerButton(owner, token, label, screen.suggestion)])
    rows.extend(
        [ActionButton(b.action, owner, token, b.arg, b.label) for b in row] for row in screen.rows
    )
    for index, row in enumerate(rows[:MAX_ROWS]):
        for item in row[:MAX_PER_ROW]:
            item.row = index
            view.add_item(item)
    return view


async def respond(
    interaction: discord.Interaction[Any],
    screen: Screen,
    token: str = "",
    *,
    edit: bool = False,
    ephemeral: bool = False,
) -> None:
    """Answer an interaction with a screen: a new message, or an edit of the pressed one
    (its original message, once the press was deferred)."""
    view = screen_view(screen, interaction.user.id, token)
    text = content(screen.text)
    if edit and interaction.response.is_done():
        await interaction.edit_original_response(content=text, view=view)
    elif edit:
        await interaction.response.edit_message(content=text, view=view)
    else:
        await answer(interaction, text, view=view, ephemeral=ephemeral)


async def show(interaction: discord.Interaction[LoraBot], outcome: Outcome) -> None:
    """Show a press's outcome: its screen, its files, the progress of the job it created."""
    if outcome.screen is not None:
        conversation = outcome.journey or outcome.generating
        token = conversation.token if conversation else ""
        place = outcome.place
        edit, private = place is Place.replace, place is Place.private
        await respond(interaction, outcome.screen, token, edit=edit, ephemeral=private)
    if outcome.files is not None:
        files = await outcome.files()  # the press was deferred: they may take a while
        views = views_for(interaction.user.id)
        private = outcome.place is Place.private
        await send_outgoing(interaction.followup, files, views, private=private)
    if outcome.job is not None and interaction.channel_id is not None:
        await start_progress(
            interaction.client, interaction.channel_id, interaction.user, outcome.job
        )


def _ids(arg: str, count: int) -> list[int]:
    """The `count` dot-separated ids of a button's argument; else it is not one of ours."""
    parts = arg.split(".")
    if len(parts) != count or not all(p.isascii() and p.isdigit() for p in parts):
        raise StaleAction(arg)
    return [int(p) for p in parts]


async def ask_caption(interaction: discord.Interaction[LoraBot], arg: str) -> None:
    """Ask for an image's caption in a modal (arg "<dataset id>.<image id>"), then save it."""
    dataset_id, image_id = _ids(arg, 2)
    asked = library.ask_caption(image_id)
    modal = TextModal(texts.CAPTION_TITLE.format(image_id=image_id), asked.prompt)
    await interaction.response.send_modal(modal)
    if await modal.wait() or modal.interaction is None or modal.value is None:
        return
    try:
        bot = interaction.client
        screen = await library.recaption(
            bot.client, actor(interaction.user), dataset_id, image_id, modal.value
        )
        await answer(modal.interaction, content(screen.text), ephemeral=True)
    except Exception as exc:
        await report(modal.interaction, exc)


async def fix_caption(interaction: discord.Interaction[LoraBot], arg: str) -> None:
    """Ask which caption and its new text in one modal (arg: the dataset's id), then write it
    and show the list."""
    (dataset_id,) = _ids(arg, 1)
    modal = CaptionFixModal(
        media_texts.FIX_TITLE, media_texts.FIX_NUMBER_ANY, media_texts.FIX_TEXT
    )
    await interaction.response.send_modal(modal)
    if await modal.wait() or modal.interaction is None:
        return
    try:
        screen = await captions.fix(
            interaction.client.client,
            actor(interaction.user),
            dataset_id,
            modal.number.value,
            modal.caption.value,
        )
        await respond(modal.interaction, screen)
    except Exception as exc:
        await report(modal.interaction, exc)


async def ask_settings(interaction: discord.Interaction[LoraBot], token: str) -> None:
    """Ask every advanced setting in one modal, then show the summary with their price.

    The form comes from the journey (its preset values and bounds), read with one quick
    attempt so the modal still opens in time; the daemon prices the answers afterwards.
    """
    bot, user = interaction.client, interaction.user
    talk = await bot.journeys.load(user, quick=True)
    modal = FormModal(AdvancedSettings(talk.flow(bot.client, token)).form())
    await interaction.response.send_modal(modal)
    if await modal.wait() or modal.interaction is None:
        return  # timed out: nothing changes
    try:
        async with bot.journeys.lock(user.id):
            talk = await bot.journeys.load(user)  # again: it may have moved on meanwhile
            screen = await AdvancedSettings(talk.flow(bot.client, token)).submit(modal.answers)
            await bot.journeys.save(talk)
        await respond(modal.interaction, screen, token)
    except Exception as exc:
        await report(modal.interaction, exc)


# The modal built from the journey (its preset values and bounds do not fit in a custom_id):
# read with one quick attempt first, so a press without the daemon is told so in time.
FORM_FROM_JOURNEY = frozenset({Action.advanced})
# Buttons answered by a modal: it opens at once from what the button carries (Discord accepts
# a modal only as the first answer, within 3 s); the daemon is asked once it is submitted.
ModalOpener = Callable[["discord.Interaction[LoraBot]", "ActionButton"], Awaitable[None]]
MODALS: Mapping[Action, ModalOpener] = MappingProxyType(
    {
        Action.recaption: lambda i, button: ask_caption(i, button.arg),
        Action.fix_caption: lambda i, button: fix_caption(i, button.arg),
        Action.care_ask: lambda i, button: ask_care(i, button.arg, views_for(i.user.id)),
        Action.advanced: lambda i, button: ask_settings(i, button.token),
    }
)


async def start_progress(
    bot: LoraBot, channel_id: int, user: discord.abc.User, job: JobOut
) -> None:
    """Post the job's progress message (a bot message), record it, and keep editing it."""
    channel = bot.get_partial_messageable(channel_id)
    first = Screen(texts.job_progress(job), cancel_row(job))
    message = await channel.send(first.text, view=screen_view(first, user.id))
    await bot.progress.record(actor(user), job.id, "discord", channel_id, message.id)
    render = progress_render(bot, channel_id, message.id, user.id)
    bot.progress.follow(actor(user), job, channel_id, render, first.text)


def progress_render(bot: LoraBot, channel_id: int, message_id: int, owner: int) -> Render:
    """How a job's progress message is edited: through the bot's REST on the channel message
    (not an interaction's token, which dies after 15 minutes), so a later process can too."""
    message = bot.get_partial_messageable(channel_id).get_partial_message(message_id)

    async def render(text: str, rows: list[list[Button]]) -> None:
        view = screen_view(Screen(text, rows), owner)
        await message.edit(content=content(text), view=view)

    return render


async def resume_progress(bot: LoraBot) -> None:
    """On start-up: go on editing the progress messages an earlier process posted."""

    def render_for(found: ResumedMessageOut) -> Render:
        owner = int(found.platform_user_id)
        return progress_render(bot, int(found.chat_id), int(found.message_id), owner)

    await bot.progress.resume("discord", render_for)
