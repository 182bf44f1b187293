"""The training journey's advanced settings, front-end neutral, against a real daemon."""

import re

import pytest

from bots.common.actions import Action
from bots.common.advanced import AdvancedSettings
from bots.common.client import DaemonClient
from bots.common.dispatch import Press, dispatch
from bots.common.schemas import Actor
from bots.common.screens import Expect, Screen, StaleAction
from bots.common.train import TrainFlow, TrainStep
from bots.common.tuning import BY_NAME, BadValue, Tuning
from tests.bots.conftest import Daemon
from tests.bots.test_flows import _press, _to_summary

# Pressed on Telegram in test_advanced_chat (Discord asks them all in one modal instead).
ADVANCED_ACTIONS = {
    Action.advanced,
    Action.tune,
    Action.set_value,
    Action.tuned,
    Action.reset_tuning,
}


def price(screen_text: str) -> int:
    """The price a summary shows."""
    found = re.search(r"Price: (\d+) points", screen_text)
    assert found is not None, screen_text
    return int(found[1])


async def estimate_cost(rpc: DaemonClient, who: Actor, flow: TrainFlow, **overrides: float) -> int:
    """What the daemon's estimate route answers for the journey's training with `overrides`."""
    assert flow.state.dataset_id is not None
    answer = await rpc.estimate(who, flow.state.dataset_id, "tiny-lora", "fast", overrides)
    assert answer.ok, answer.errors
    return answer.cost


def _tiny_fast() -> Tuning:
    """The tiny offering's `fast` preset as `core/offerings.toml` has it."""
    return Tuning(
        title="Tiny LoRA",
        preset={
            "steps": 30,
            "rank": 4,
            "alpha": 4.0,
            "learning_rate": 1e-3,
            "resolution": 64,
            "batch_size": 1,
        },
        bounds={
            "steps": (1, 2000),
            "rank": (1, 32),
            "alpha": (0.5, 64.0),
            "learning_rate": (1e-6, 1e-2),
            "batch_size": (1, 8),
            "resolution": (32, 128),
        },
    )


@pytest.mark.parametrize(
    ("name", "typed", "message"),
    [
        ("steps", "5000", "Steps must be between 1 and 2000; 5000 is not."),
        ("steps", "0", "Steps must be between 1 and 2000; 0 is not."),
        ("steps", "12.5", "Steps must be a whole number between 1 and 2000, e.g. 30."),
        ("steps", "many", "Steps must be a whole number between 1 and 2000, e.g. 30."),
        ("learning_rate", "nan", "Learning rate must be a number between 1e-6 and 0.01"),
        ("learning_rate", "0.1", "Learning rate must be between 1e-6 and 0.01; 0.1 is not."),
        ("resolution", "100", "Resolution must be a multiple of 8, e.g. 64; 100 is not."),
        ("batch_size", "9", "Batch size must be between 1 and 8; 9 is not."),
    ],
)
def test_a_bad_value_says_what_is_allowed(name: str, typed: str, message: str) -> None:
    tuning = _tiny_fast()
    with pytest.raises(BadValue) as refused:
        tuning.answered({name: typed})
    assert str(refused.value).startswith(message)
    assert tuning.overrides == {}


def test_values_read_as_people_write_them_and_alpha_follows_the_rank() -> None:
    tuning = _tiny_fast().answered(
        {"learning_rate": "5e-4", "steps": " 1 200 ", "rank": "16", "resolution": "64"}
    )
    # The preset's value again (resolution) is no change; alpha keeps the preset's alpha/rank.
    assert tuning.overrides == {"learning_rate": 5e-4, "steps": 1200, "rank": 16, "alpha": 16.0}
    assert _tiny_fast().answered({"learning_rate": "0,002"}).overrides == {"learning_rate": 2e-3}
    assert tuning.changes("fast") == [
        "Changed from preset fast:",
        "• Steps: 30 → 1200",
        "• Rank: 4 → 16",
        "• Learning rate: 0.001 → 0.0005",
        "• Alpha: 4 → 16 (follows the rank)",
    ]
    assert tuning.reset().overrides == {} and tuning.reset().changes("fast") == []


def test_the_offered_values_lie_within_the_bounds_around_the_preset() -> None:
    tuning = _tiny_fast()
    assert tuning.choices(BY_NAME["steps"]) == [15, 22, 30, 45, 60]
    assert tuning.choices(BY_NAME["learning_rate"]) == [2e-4, 5e-4, 1e-3, 2e-3, 5e-3]
    assert tuning.choices(BY_NAME["resolution"]) == [32, 48, 64, 80, 96]
    assert tuning.choices(BY_NAME["batch_size"]) == [1, 2, 4, 8]  # 16 is past the bounds
    changed = tuning.answered({"steps": "1999"})
    assert 1999 in changed.choices(BY_NAME["steps"])  # the current value is always offered


async def test_two_changes_are_priced_by_the_daemon_and_paid_exactly(
    daemon: Daemon, rpc: DaemonClient, alice: Actor
) -> None:
    await daemon.grant(alice.header, 1000)
    flow, summary = await _to_summary(rpc, alice)
    first_summary = flow.state.summary_id
    assert "Changed from" not in summary.text
    assert any(b.action is Action.advanced for b in summary.buttons)

    press = Press(Action.advanced, "", flow.state.token, alice, flow.state)
    opened = await dispatch(rpc, press)
    assert opened.form is not None and flow.state.step is TrainStep.advanced
    assert [(f.name, f.value) for f in opened.form.fields] == [
        ("steps", "30"),
        ("rank", "4"),
        ("learning_rate", "0.001"),
        ("resolution", "64"),
        ("batch_size", "1"),
    ]
    asked = await _press(flow, Action.tune, "st")
    assert asked.expects is Expect.text and "between 1 and 2000" in asked.text
    assert [b.arg for b in asked.buttons if b.action is Action.set_value][-1] == "st=60"
    changed = await _press(flow, Action.set_value, "st=60")
    assert "• Steps: 30 → 60" in changed.text and flow.state.step is TrainStep.summary
    assert flow.state.summary_id != first_summary  # a new price: the old Confirm is stale
    with pytest.raises(StaleAction):
        await flow.confirm(first_summary or "")

    await _press(flow, Action.advanced)
    await _press(flow, Action.tune, "bs")
    refused = await AdvancedSettings(flow).typed("9")
    assert refused.text.startswith("Batch size must be between 1 and 8; 9 is not.")
    assert "Nothing was changed." in refused.text and flow.state.tuning.overrides == {"steps": 60}
    final = await AdvancedSettings(flow).typed("2")
    assert "• Batch size: 1 → 2" in final.text and "• Steps: 30 → 60" in final.text
    cost = await estimate_cost(rpc, alice, flow, steps=60, batch_size=2)
    assert price(final.text) == cost == flow.state.cost
    assert cost > await estimate_cost(rpc, alice, flow)  # more work costs more

    confirmed = await flow.confirm(flow.state.summary_id or "")
    assert confirmed.job is not None
    job = await rpc.job(alice, confirmed.job.id)
    assert job.overrides == {"steps": 60, "batch_size": 2} and job.cost == cost
    assert job.params["steps"] == 60 and job.params["batch_size"] == 2


async def test_a_form_with_a_bad_value_changes_nothing_and_reset_restores_the_preset(
    daemon: Daemon, rpc: DaemonClient, alice: Actor
) -> None:
    flow, summary = await _to_summary(rpc, alice)
    preset_price, shown = price(summary.text), flow.state.summary_id
    await _press(flow, Action.advanced)
    settings = AdvancedSettings(flow)
    answers = {"steps": "0", "rank": "8", "learning_rate": "fast", "batch_size": "1"}
    refused = await settings.submit(answers)
    assert refused.text.splitlines() == [
        "Steps must be between 1 and 2000; 0 is not.",
        "Learning rate must be a number between 1e-6 and 0.01, e.g. 0.001.",
        "Nothing was changed.",
    ]
    assert [b.action for b in refused.buttons] == [Action.advanced]  # to open the form again
    assert flow.state.tuning.overrides == {} and flow.state.summary_id == shown

    changed = await settings.submit({"steps": "30", "rank": "8", "resolution": "96"})
    assert "• Rank: 4 → 8" in changed.text and "• Alpha: 4 → 8 (follows the rank)" in changed.text
    assert price(changed.text) == await estimate_cost(
        rpc, alice, flow, rank=8, alpha=8.0, resolution=96
    )
    reset = next(b for b in changed.buttons if b.action is Action.reset_tuning)
    back = await _press(flow, reset.action)
    assert "Changed from" not in back.text and price(back.text) == preset_price
    assert flow.state.tuning.overrides == {}
    assert not any(b.action is Action.reset_tuning for b in back.buttons)


async def test_values_the_daemon_refuses_change_nothing(
    daemon: Daemon, rpc: DaemonClient, alice: Actor
) -> None:
    """Bounds an operator narrowed after the summary: the bot's check passes, the daemon's
    preflight (the judge) refuses, and the settings stay as they were."""
    flow, _ = await _to_summary(rpc, alice)
    flow.state.tuning.bounds["steps"] = (1, 100_000)  # what the bot knew, wider than now
    await _press(flow, Action.advanced)
    await _press(flow, Action.tune, "st")
    refused: Screen = await AdvancedSettings(flow).typed("5000")
    assert refused.text.startswith("The training service refused these settings:\n• steps=5000")
    assert "Nothing was changed." in refused.text
    assert flow.state.tuning.overrides == {} and flow.state.step is TrainStep.tuning
    with pytest.raises(StaleAction):  # a value button of another setting than the one asked
        await _press(flow, Action.set_value, "rk=8")
