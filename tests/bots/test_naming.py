"""Dataset names and trigger words: the bot refuses what the daemon refuses, for the same reason.

Both sides call `core.naming`; these tests pin that the bot asks again (with its friendly text,
calling nothing) exactly where the daemon would answer 400 with the same rule's code.
"""

from typing import Any

import aiohttp
import pytest

from bots.common import texts
from bots.common.client import DaemonClient
from bots.common.schemas import Actor
from bots.common.screens import Expect
from bots.common.train import TrainFlow, TrainState, TrainStep
from core.naming import (
    MAX_NAME_CHARS,
    MAX_TRIGGER_CHARS,
    NamingProblem,
    check_dataset_name,
    check_trigger_word,
)
from tests.bots.conftest import Daemon
from tests.conftest import user_headers

BAD_NAMES = ["", "   ", "x" * 101, "bad\x00name", "zero\u200bwidth"]
BAD_TRIGGERS = ["my.cat", "two words", "", "x" * 65, "ünï", "tab\tbed", "a/b"]


async def _daemon_refusal(daemon: Daemon, method: str, path: str, who: Actor, body: Any) -> str:
    """The rule code of the daemon's 400 answer to a body."""
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, daemon.url + path, json=body, headers=user_headers(who.header)) as r,
    ):
        answer = await r.json()
    assert r.status == 400 and answer["error"]["code"] == "INVALID_INPUT", answer
    return str(answer["error"]["details"]["fields"][0]["type"])


def test_every_rule_has_a_friendly_text() -> None:
    assert set(texts.NAMING_PROBLEM) == set(NamingProblem)


@pytest.mark.parametrize("name", BAD_NAMES)
async def test_a_bad_dataset_name_is_refused_by_bot_and_daemon_alike(
    daemon: Daemon, rpc: DaemonClient, alice: Actor, name: str
) -> None:
    problem = check_dataset_name(name.strip())
    assert problem is not None
    flow = TrainFlow(rpc, alice, TrainState(step=TrainStep.naming))
    again = await flow.text(name)
    expected = texts.NAMING_PROBLEM[problem].format(max=MAX_NAME_CHARS)
    assert again.text == expected and again.expects is Expect.text
    assert flow.state.step is TrainStep.naming and await rpc.datasets(alice) == []
    assert await _daemon_refusal(daemon, "POST", "/v1/datasets", alice, {"name": name}) == problem
    assert await rpc.datasets(alice) == []


@pytest.mark.parametrize("word", BAD_TRIGGERS)
async def test_a_bad_trigger_word_is_refused_by_bot_and_daemon_alike(
    daemon: Daemon, rpc: DaemonClient, alice: Actor, word: str
) -> None:
    problem = check_trigger_word(word)
    assert problem is not None
    dataset = await rpc.create_dataset(alice, "my cat")
    state = TrainState(step=TrainStep.trigger, dataset_id=dataset.id, dataset_name=dataset.name)
    again = await TrainFlow(rpc, alice, state).text(word)
    expected = texts.NAMING_PROBLEM[problem].format(suggested="mycat", max=MAX_TRIGGER_CHARS)
    assert again.text == expected
    assert state.step is TrainStep.trigger
    path = f"/v1/datasets/{dataset.id}"
    assert await _daemon_refusal(daemon, "PATCH", path, alice, {"trigger_word": word}) == problem
    assert (await rpc.dataset(alice, dataset.id)).trigger_word is None


async def test_my_cat_with_a_dot_is_asked_again_in_words_a_person_understands(
    daemon: Daemon, rpc: DaemonClient, alice: Actor
) -> None:
    dataset = await rpc.create_dataset(alice, "my.cat")  # a fine dataset name
    state = TrainState(step=TrainStep.trigger, dataset_id=dataset.id, dataset_name=dataset.name)
    again = await TrainFlow(rpc, alice, state).text("my.cat")
    assert "without spaces, dots or accents, e.g. mycat" in again.text
    assert again.suggestion == "mycat"


@pytest.mark.parametrize("word", ["mycat", "sks_cat-2", "X" * 64])
async def test_a_good_trigger_word_passes_both(
    daemon: Daemon, rpc: DaemonClient, alice: Actor, word: str
) -> None:
    assert check_trigger_word(word) is None
    dataset = await rpc.create_dataset(alice, f"set {word[:8]}")
    state = TrainState(step=TrainStep.trigger, dataset_id=dataset.id, dataset_name=dataset.name)
    await TrainFlow(rpc, alice, state).text(word)
    assert state.step is TrainStep.offering and state.trigger_word == word
    assert (await rpc.dataset(alice, dataset.id)).trigger_word == word
