"""Honest choices, front-end neutral: on an install without the SD-1.5, SDXL and FLUX.1 base
models (the tests' data folder has none), only what can run is a button."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bots.common import media_texts, texts
from bots.common.actions import Action
from bots.common.client import DaemonClient
from bots.common.dispatch import Press, dispatch
from bots.common.generate import GenerateFlow, GenerateState, GenerateStep
from bots.common.schemas import Actor
from bots.common.screens import StaleAction
from bots.common.train import TrainFlow, TrainState, TrainStep
from core.enums import Visibility
from core.settings import BUNDLED_OFFERINGS
from daemon.keys import BLOBS, SESSIONMAKER
from tests.bots.conftest import Daemon, _serve
from tests.conftest import RPC_TOKEN
from tests.generation.conftest import make_model

MISSING = ("Stable Diffusion 1.5 LoRA", "Stable Diffusion XL LoRA", "Flux.1 LoRA")


async def _at_offerings(rpc: DaemonClient, who: Actor) -> tuple[TrainFlow, Any]:
    """A journey at its offerings screen by "Train on this" (the marketplace's way in, the
    same screen as after the trigger word)."""
    dataset = await rpc.create_dataset(who, "Cats")
    flow = TrainFlow(rpc, who, TrainState())
    await flow.begin()
    return flow, await flow.train_on(dataset.id)


async def test_only_what_can_train_here_is_a_button(rpc: DaemonClient, alice: Actor) -> None:
    flow, screen = await _at_offerings(rpc, alice)
    assert flow.state.step is TrainStep.offering
    picks = [b.arg for b in screen.buttons if b.action is Action.pick_offering]
    assert picks == ["tiny-lora", "tiny-flux-lora"]
    assert screen.text.startswith(str(texts.PICK_OFFERING))
    for title in MISSING:
        assert f"• {title} — its base model is not installed" in screen.text

    # A button this bot never showed (or an old one) is stale, and the daemon refuses it too.
    press = Press(Action.pick_offering, "sd15-lora", flow.state.token, alice, flow.state)
    with pytest.raises(StaleAction):
        await dispatch(rpc, press)
    assert flow.state.step is TrainStep.offering
    assert flow.state.dataset_id is not None
    refused = await rpc.estimate(alice, flow.state.dataset_id, "sd15-lora", "fast")
    assert [e.code for e in refused.errors][:1] == ["BASE_MODEL_MISSING"]


async def test_nothing_available_says_so(
    make_settings: Callable[..., Any], aiohttp_server: Any, tmp_path: Path, alice: Actor
) -> None:
    # The operator switched the two tiny offerings off: nothing can train on this install.
    text = BUNDLED_OFFERINGS.read_text("utf-8")
    for offering in ("tiny-lora", "tiny-flux-lora"):
        text = text.replace(
            f"[offerings.{offering}]\n", f"[offerings.{offering}]\nenabled = false\n"
        )
    offerings = tmp_path / "offerings.toml"
    offerings.write_text(text, "utf-8")
    daemon = await _serve(aiohttp_server, make_settings(offerings_file=offerings))
    async with DaemonClient(daemon.url, RPC_TOKEN, attempts=2) as rpc:
        flow, screen = await _at_offerings(rpc, alice)
    assert screen.buttons == [] and flow.state.step is TrainStep.cancelled
    assert screen.text.startswith(str(texts.NO_OFFERINGS))
    assert "• Tiny LoRA (demo, trains on a CPU in seconds) — switched off by the operator" in (
        screen.text
    )


async def _model(daemon: Daemon, who: Actor, offering_id: str, tmp_path: Path) -> int:
    me = await daemon.get("/v1/me", who.header)
    lora = tmp_path / f"{offering_id}.safetensors"
    lora.write_bytes(b"lora")  # never loaded: the list of models is all this test needs
    return await make_model(
        daemon.app[SESSIONMAKER],
        daemon.app[BLOBS],
        me["id"],
        lora,
        visibility=Visibility.private,
        offering_id=offering_id,
    )


async def test_generate_offers_only_models_that_can_generate_here(
    daemon: Daemon, rpc: DaemonClient, alice: Actor, tmp_path: Path
) -> None:
    sdxl = await _model(daemon, alice, "sdxl-lora", tmp_path)
    flow = GenerateFlow(rpc, alice, GenerateState())
    nothing = await flow.begin()
    assert nothing.buttons == [] and flow.state.step is GenerateStep.cancelled
    assert nothing.text.startswith(str(media_texts.NO_MODEL_USABLE))
    assert f"(#{sdxl})" in nothing.text

    tiny = await _model(daemon, alice, "tiny-lora", tmp_path)
    flow = GenerateFlow(rpc, alice, GenerateState())
    screen = await flow.begin()
    assert [b.arg for b in screen.buttons] == [str(tiny)]
    assert screen.text.startswith(str(media_texts.PICK_MODEL)) and f"(#{sdxl})" in screen.text
