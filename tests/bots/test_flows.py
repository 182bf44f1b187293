"""The front-end-neutral training journey and lists, against a real daemon (RPC only)."""

import pytest

from bots.common import library, texts
from bots.common.actions import Action
from bots.common.client import DaemonClient
from bots.common.delivery import Outgoing, deliver_once
from bots.common.dispatch import Press, dispatch
from bots.common.errors import DaemonUnavailable, NotFoundError
from bots.common.schemas import Actor, Upload
from bots.common.screens import Expect, Screen, StaleAction
from bots.common.train import TrainFlow, TrainState, TrainStep, suggest_trigger
from core.naming import MAX_NAME_CHARS, NamingProblem
from daemon.schemas import NotificationOut
from tests.bots.conftest import Daemon, png
from tests.conftest import RPC_TOKEN


async def _press(flow: TrainFlow, action: Action, arg: str = "") -> Screen:
    """Press a button of the journey's current screen, through the common dispatch."""
    press = Press(action, arg, flow.state.token, flow.actor, flow.state)
    outcome = await dispatch(flow.client, press)
    assert outcome.screen is not None and outcome.journey is flow.state
    return outcome.screen


async def _naming(rpc: DaemonClient, who: Actor) -> TrainFlow:
    """A journey begun with New dataset, waiting for the dataset's name."""
    flow = TrainFlow(rpc, who, TrainState())
    await flow.begin()
    asked = await _press(flow, Action.new_dataset)
    assert asked.expects is Expect.text
    return flow


async def _to_summary(
    rpc: DaemonClient, who: Actor, name: str = "My Cat"
) -> tuple[TrainFlow, Screen]:
    flow = await _naming(rpc, who)
    screen = await flow.text(name)
    assert screen.expects is Expect.images and "has 0 images" in screen.text
    uploads = [Upload(f"cat{i}.png", png(i), f"a cat, pose {i}") for i in range(4)]
    uploads.append(Upload("notes.txt", b"definitely not a picture"))
    ack = await flow.add_images(uploads)
    assert f"“{name}” now has 4" in ack.text
    assert "✗ notes.txt:" in ack.text  # the daemon's reason follows
    # Every image has a caption: nothing to caption automatically, straight to the trigger.
    trigger = await _press(flow, Action.images_done)
    assert trigger.suggestion == suggest_trigger(name)
    assert "not available" not in trigger.text
    offerings = await _press(flow, Action.use_trigger)
    assert any(b.arg == "tiny-lora" for b in offerings.buttons)
    presets = await _press(flow, Action.pick_offering, "tiny-lora")
    assert [b.arg for b in presets.buttons if b.action is Action.pick_preset] == [
        "fast",
        "balanced",
        "quality",
    ]
    summary = await _press(flow, Action.pick_preset, "fast")
    assert flow.state.step is TrainStep.summary and "Price:" in summary.text
    return flow, summary


async def test_journey_pays_once_for_a_repeated_confirm(
    daemon: Daemon, rpc: DaemonClient, alice: Actor
) -> None:
    await daemon.grant(alice.header, 1000)
    flow, summary = await _to_summary(rpc, alice)
    cost = flow.state.cost
    assert cost and f"balance after: {1000 - cost} points" in summary.text
    assert "you are next" in summary.text  # the daemon's queue outlook, nothing waiting

    first = await flow.confirm(flow.state.summary_id or "", {"chat_id": 501})
    second = await flow.confirm(flow.state.summary_id or "", {"chat_id": 501})
    assert first.created and first.job is not None
    assert not second.created and second.job is not None and second.job.id == first.job.id
    assert "charged once" in second.screen.text
    debits = [e for e in await rpc.ledger(alice) if e.kind == "training_debit"]
    assert [e.delta for e in debits] == [-cost]
    assert (await rpc.me(alice)).balance == 1000 - cost
    job = await rpc.job(alice, first.job.id)
    assert job.status == "queued" and job.queue_position == 1


async def test_stale_and_foreign_answers_change_nothing(
    daemon: Daemon, rpc: DaemonClient, alice: Actor
) -> None:
    await daemon.grant(alice.header, 1000)
    flow, _ = await _to_summary(rpc, alice)
    with pytest.raises(StaleAction):
        await flow.confirm("an-old-summary")
    with pytest.raises(StaleAction):
        await _press(flow, Action.pick_offering, "tiny-lora")  # a button of an earlier step
    await _press(flow, Action.cancel)
    with pytest.raises(StaleAction):
        await flow.confirm(flow.state.summary_id or "")
    assert await rpc.jobs(alice) == []
    assert (await rpc.me(alice)).balance == 1000
    # Another person cannot even see the dataset.
    with pytest.raises(NotFoundError):
        await rpc.dataset(Actor(platform="telegram", user_id="666"), flow.state.dataset_id or 0)


async def test_not_enough_points_shows_the_shortfall_and_charges_nothing(
    rpc: DaemonClient, alice: Actor
) -> None:
    flow, summary = await _to_summary(rpc, alice)
    cost = flow.state.cost or 0
    assert f"You need {cost} more points" in summary.text
    result = await flow.confirm(flow.state.summary_id or "")
    assert result.job is None and f"You need {cost} more points" in result.screen.text
    assert await rpc.jobs(alice) == []


async def test_bad_names_and_trigger_words_are_asked_again(
    rpc: DaemonClient, alice: Actor
) -> None:
    flow = await _naming(rpc, alice)
    too_long = texts.NAMING_PROBLEM[NamingProblem.name_length].format(max=MAX_NAME_CHARS)
    assert (await flow.text("   ")).text == too_long
    assert flow.state.step is TrainStep.naming and await rpc.datasets(alice) == []
    await flow.text("dogs")
    await flow.add_images([Upload("d.png", png(7))])
    offer = await _press(flow, Action.images_done)
    assert flow.state.step is TrainStep.captions
    assert offer.text.startswith("1 of your images has no caption")
    await _press(flow, Action.skip_captions)
    again = await flow.text("two words")
    assert "without spaces" in again.text and flow.state.step is TrainStep.trigger
    assert (await rpc.dataset(alice, flow.state.dataset_id or 0)).trigger_word is None


async def test_done_without_images_keeps_asking_for_images(
    rpc: DaemonClient, alice: Actor
) -> None:
    flow = await _naming(rpc, alice)
    await flow.text("empty")
    screen = await _press(flow, Action.images_done)
    assert screen.text == texts.NO_IMAGES_YET and flow.state.step is TrainStep.images


async def test_lists_balance_and_cancel_with_refund(
    daemon: Daemon, rpc: DaemonClient, alice: Actor
) -> None:
    await daemon.grant(alice.header, 500)
    flow, _ = await _to_summary(rpc, alice, name="Birds")
    confirmation = await flow.confirm(flow.state.summary_id or "")
    assert confirmation.job is not None
    job_id = confirmation.job.id
    datasets = await library.datasets(rpc, alice)
    assert "Birds — 4 images, trigger birds" in datasets.text
    detail = await library.dataset(rpc, alice, flow.state.dataset_id or 0)
    assert "a cat, pose 0" in detail.text  # captions made it through
    jobs = await library.jobs(rpc, alice)
    assert any(b.action is Action.cancel_job and b.arg == str(job_id) for b in jobs.buttons)
    refused = await library.delete_dataset(rpc, alice, flow.state.dataset_id or 0)
    assert refused.text.startswith("That did not work")  # a queued job uses it
    cancelled, job = await library.cancel_job(rpc, alice, job_id)
    assert job.status == "cancelled"
    assert f"{confirmation.job.cost} points refunded" in cancelled.text
    again, _ = await library.cancel_job(rpc, alice, job_id)
    assert "already cancelled" in again.text
    balance = await library.balance(rpc, alice)
    assert balance.text.startswith("Balance: 500 points.")
    assert "refund" in balance.text and "training_debit" in balance.text


async def test_link_joins_two_identities(daemon: Daemon, rpc: DaemonClient, alice: Actor) -> None:
    await daemon.grant(alice.header, 70)
    code_text = (await library.link_code(rpc, alice)).text
    assert "/link " in code_text and "within 10 minutes" in code_text  # the daemon's TTL
    bob = Actor(platform="discord", user_id="42")
    fresh = (await rpc.link_code(alice)).code
    linked = await library.link(rpc, bob, fresh)
    assert "balance 70 points" in linked.text
    assert (await rpc.me(bob)).id == (await rpc.me(alice)).id


async def test_a_notification_is_acknowledged_only_once_delivered(
    daemon: Daemon, rpc: DaemonClient, alice: Actor
) -> None:
    await daemon.grant(alice.header, 500)
    flow, _ = await _to_summary(rpc, alice)
    confirmation = await flow.confirm(flow.state.summary_id or "")
    assert confirmation.job is not None
    await rpc.cancel_job(alice, confirmation.job.id)
    pending = await rpc.notifications("telegram", wait=0)
    assert [n.kind for n in pending] == ["job_cancelled"]

    async def broken(n: NotificationOut, items: list[Outgoing]) -> None:
        raise ConnectionError("platform down")

    assert not await deliver_once(rpc, pending[0], broken)
    got: list[str] = []

    async def works(n: NotificationOut, items: list[Outgoing]) -> None:
        got.extend(item.text for item in items)

    assert await deliver_once(rpc, pending[0], works)
    assert got == [
        texts.CANCELLED.format(job_id=confirmation.job.id, refunded=confirmation.job.cost)
    ]
    assert await rpc.notifications("telegram", wait=0) == []


async def test_unreachable_daemon_is_retried_then_reported(alice: Actor) -> None:
    async with DaemonClient("http://127.0.0.1:9", RPC_TOKEN, attempts=3, backoff=0.01) as client:
        with pytest.raises(DaemonUnavailable):
            await client.me(alice)


def test_trigger_suggestions() -> None:
    assert suggest_trigger("My Cat") == "mycat"
    assert suggest_trigger("Ö!") == "mylora"
    assert suggest_trigger("x" * 200) == "x" * 60


def test_summary_shows_the_daemons_queue_outlook() -> None:
    from datetime import UTC, datetime

    from daemon.schemas import DatasetOut, EstimateOut, OfferingOut, PresetOut

    now = datetime.now(UTC)
    dataset = DatasetOut(
        id=1,
        name="cats",
        trigger_word="cats",
        description="",
        tags=[],
        visibility="private",
        image_count=4,
        owned=True,
        created_at=now,
        updated_at=now,
    )
    preset = PresetOut(
        steps=50,
        rank=4,
        alpha=4.0,
        learning_rate=1e-4,
        batch_size=1,
        resolution=64,
        train_text_encoder=False,
        text_encoder_lr=None,
    )
    offering = OfferingOut(
        id="tiny-lora",
        title="Tiny",
        description="",
        family="tiny",
        enabled=True,
        base_model="tiny",
        base_model_available=True,
        available=True,
        resolution=64,
        min_images=4,
        max_images=200,
        presets={"fast": preset},
        bounds={},
        pricing={},
    )
    estimate = {
        "ok": True,
        "offering_id": "tiny-lora",
        "preset": "fast",
        "cost": 10,
        "estimated_seconds": 65.0,
        "vram_gb": 1.0,
        "image_count": 4,
        "params": {},
        "errors": [],
        "warnings": [],
        "quote": None,
        "breakdown": {"items": [], "rate": {}, "per_step": None},
    }
    idle = EstimateOut(**estimate, queue_ahead=0, starts_in_seconds=0.0)
    busy = EstimateOut(**estimate, queue_ahead=2, starts_in_seconds=130.0)
    text = texts.summary(dataset, offering, "fast", idle, 100)
    assert "you are next" in text and "Estimated time: 1 min 5 s" in text
    assert "balance after: 90 points" in text
    busy_text = texts.summary(dataset, offering, "fast", busy, 100)
    assert "2 jobs ahead of you, starting in about 2 min 10 s" in busy_text
