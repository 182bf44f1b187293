"""With the daemon stopped, every Discord command and every kind of button is acknowledged
within Discord's 3 s (the fake refuses a later answer, as Discord does) and the person gets
the "not reachable" text — not "This interaction failed"."""

import asyncio
from typing import Any

from aiohttp.test_utils import TestServer

from bots.common import texts
from bots.common.actions import Action
from bots.common.dataset_care import CareAsk, CareField
from bots.common.market import Listing
from bots.common.publishing import Publication
from bots.discord.buttons import FORM_FROM_JOURNEY, MODALS, ActionButton
from bots.discord.main import run
from core.enums import ItemKind
from daemon.app import create_app
from tests.bots.conftest import Daemon, bot_settings, png
from tests.bots.fakes.discord import FakeDiscord, Sent
from tests.bots.fakes.discord_payloads import text_inputs
from tests.bots.fakes.discord_window import WINDOW, Pending

USER = 323456789012345678
# The daemon's client retries for about 7.5 s before it gives up.
GIVES_UP = 30.0
ARGS = {
    Action.recaption: "1.1",
    Action.care_ask: CareAsk(1, CareField.name).pack(),
    Action.keep_sample: "1.10",
    Action.checkpoint_files: "1.10",
    Action.open_listed: "d1",
    Action.buy_pack: "small",
    Action.explore: Listing(ItemKind.dataset).pack(),
    Action.publish: Publication(ItemKind.dataset, 1).pack(),
}
# Commands answered without the daemon (today): their own texts. Every other command and
# button needs it, the journey's too: the daemon keeps the conversations, so without it the
# bot cannot tell a live journey's button from a stale one.
WITHOUT_DAEMON = {"account help": texts.HELP_DISCORD}


async def _bot(fake: FakeDiscord, url: str, run_bot: Any) -> None:
    settings = bot_settings(
        Daemon(url, None),
        discord_token=fake.token,
        discord_api_base=fake.api_base,  # type: ignore[attr-defined]
        discord_gateway=fake.gateway_url,  # type: ignore[attr-defined]
    )
    run_bot(run, settings)
    await asyncio.wait_for(fake.identified.wait(), 30)
    for _ in range(200):  # commands are synced in setup_hook, before the gateway connects
        if fake.commands:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("commands were never synced")


def _in_time(fake: FakeDiscord, token: str) -> Pending:
    pending = next(p for p in fake.callbacks if p.token == token)
    assert pending.acked_at is not None, f"{token} was never acknowledged"
    assert pending.acked_at - pending.sent_at <= WINDOW
    return pending


async def _answer(fake: FakeDiscord, token: str) -> Sent:
    """The message that answers the interaction of `token` (once the daemon was given up)."""
    return await fake.wait_for(lambda s: s.token == token and bool(s.content), GIVES_UP)


def _commands(fake: FakeDiscord) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """Every (command, subcommand, options) the bot synced."""
    found = []
    for command in fake.commands:
        options = command.get("options") or []
        subs = [o for o in options if o["type"] == 1] or [{"name": "", "options": options}]
        found += [(command["name"], sub["name"], sub.get("options") or []) for sub in subs]
    return found


async def _slash(fake: FakeDiscord, user: int, name: str, sub: str, options: list[Any]) -> str:
    required = [o for o in options if o.get("required")]
    attachments = {o["name"]: ("a.png", png(1)) for o in required if o["type"] == 11}
    values = {o["name"]: "x" for o in required if o["type"] == 3}
    return await fake.slash(user, name, sub, options=values, attachments=attachments)


async def test_every_command_and_button_is_answered_in_time_without_the_daemon(
    fake_discord: FakeDiscord, run_bot: Any, unused_tcp_port: int
) -> None:
    fake = fake_discord
    await _bot(fake, f"http://127.0.0.1:{unused_tcp_port}", run_bot)  # nothing listens there
    asked: dict[str, str] = {}  # token → what was asked
    for index, (name, sub, options) in enumerate(_commands(fake)):
        token = await _slash(fake, USER + index, name, sub, options)
        asked[token] = f"{name} {sub}".strip()
    for index, action in enumerate(Action):
        owner = USER + 1000 + index  # one person each: presses of one person run one by one
        button = ActionButton(action, owner, "tok", ARGS.get(action, "1"))
        message = fake.button_message([button.item.custom_id or ""])
        count = len(fake.modals)
        await fake.press(owner, message, button.item.custom_id or "")
        token = fake.callbacks[-1].token
        if action in MODALS and action not in FORM_FROM_JOURNEY:  # opened at once
            modal = await fake.wait_modal(count + 1)
            assert _in_time(fake, token).responses[0]["type"] == 9
            fields = len(text_inputs(modal["components"]))
            token = await fake.submit_modal(owner, *("1", "a caption")[-fields:])
        asked[token] = action.name
    assert set(asked.values()) >= {a.name for a in Action}

    answers = await asyncio.gather(*(_answer(fake, token) for token in asked))
    for (token, what), sent in zip(asked.items(), answers, strict=True):
        _in_time(fake, token)
        assert sent.content == WITHOUT_DAEMON.get(what, texts.DAEMON_DOWN), what
    assert all(p.late is None for p in fake.callbacks)


async def test_a_journey_whose_daemon_stops_is_told_so(
    fake_discord: FakeDiscord, run_bot: Any, make_settings: Any
) -> None:
    """The journey begun while the daemon ran: its ✎ opens the modal at once, and the name
    typed there gets the "not reachable" text once the daemon is gone."""
    fake = fake_discord
    server = TestServer(create_app(make_settings(run_queue=False)), host="127.0.0.1")
    await server.start_server()
    await _bot(fake, str(server.make_url("")).rstrip("/"), run_bot)
    mark = len(fake.log)
    await fake.slash(USER, "train", "start")
    first = await fake.wait_text("Let's make one", after=mark)
    mark = len(fake.log)
    await fake.press(USER, first, "New dataset")
    asked = await fake.wait_text("Send me a name", after=mark)
    await server.close()

    count = len(fake.modals)
    await fake.press(USER, asked, "✎")
    await fake.wait_modal(count + 1)
    assert _in_time(fake, fake.callbacks[-1].token).responses[0]["type"] == 9
    token = await fake.submit_modal(USER, "My Cat")
    sent = await _answer(fake, token)
    assert sent.content == texts.DAEMON_DOWN and sent.ephemeral
    _in_time(fake, token)
