"""A person's language as the daemon keeps it: their choice, their app's locale, the one used."""

import aiohttp
import pytest

from bots.common import i18n
from bots.common.actions import Action
from bots.common.client import DaemonClient
from bots.common.errors import RpcError
from bots.common.schemas import Actor
from tests.bots.conftest import Daemon
from tests.conftest import user_headers

# The actions the language tests press (test_telegram / test_discord leave them to these).
LANGUAGE_ACTIONS = {Action.language}


async def test_the_app_locale_is_kept_and_a_choice_overrides_it(
    daemon: Daemon, rpc: DaemonClient, alice: Actor
) -> None:
    first = await rpc.language(alice)
    assert (first.language, first.choice, first.platform_locale) == ("en", None, None)
    with i18n.use_locale(None, "ru-RU"):  # the bots send it as X-User-Locale
        reported = await rpc.language(alice)
    assert (reported.language, reported.choice, reported.platform_locale) == ("ru", None, "ru-RU")
    chosen = await rpc.set_language(alice, "en")
    assert (chosen.language, chosen.choice, chosen.platform_locale) == ("en", "en", "ru-RU")
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{daemon.url}/v1/me", headers=user_headers(alice.header)) as resp,
    ):
        assert (await resp.json())["language"] == "en"
    followed = await rpc.set_language(alice, None)
    assert (followed.language, followed.choice) == ("ru", None)


async def test_a_language_the_bots_lack_is_refused(rpc: DaemonClient, alice: Actor) -> None:
    await rpc.set_language(alice, "ru")
    with pytest.raises(RpcError) as refused:
        await rpc.set_language(alice, "de")
    assert refused.value.status == 400 and refused.value.code == "INVALID_INPUT"
    assert (await rpc.language(alice)).choice == "ru"


async def test_a_malformed_locale_header_is_refused(daemon: Daemon, rpc: DaemonClient) -> None:
    who = "telegram:4242"
    headers = {**user_headers(who), "X-User-Locale": "ru RU; drop"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{daemon.url}/v1/me/language", headers=headers) as resp,
    ):
        body = await resp.json()
    assert resp.status == 400 and body["error"]["code"] == "INVALID_INPUT"
    assert "X-User-Locale must be a language tag" in body["error"]["message"]
    stored = await rpc.language(Actor(platform="telegram", user_id="4242"))
    assert stored.platform_locale is None
