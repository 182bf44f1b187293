"""Captions, generations and checkpoints, front-end neutral, against a real daemon (RPC only)
on a copy of the prepared data (an account with a dataset and a trained LoRA)."""

from collections.abc import AsyncIterator

import pytest

from bots.common import captions, media_texts
from bots.common.actions import Action
from bots.common.client import DaemonClient
from bots.common.delivery import notification_messages
from bots.common.dispatch import Press, dispatch
from bots.common.errors import NotFoundError
from bots.common.generate import GenerateFlow, GenerateState, GenerateStep
from bots.common.outgoing import OutKind
from bots.common.schemas import Actor
from bots.common.train import TrainFlow, TrainState, TrainStep
from tests.bots.conftest import Daemon
from tests.bots.prepared import CAPTION, OWNER_TG, TRIGGER, Prepared
from tests.conftest import RPC_TOKEN

# Pressed in the media journeys and their focused tests (they need workers or a trained LoRA).
MEDIA_ACTIONS = {
    Action.fix_caption,
    Action.captions_done,
    Action.gen_model,
    Action.use_prompt,
    Action.gen_confirm,
    Action.gen_cancel,
    Action.try_model,
    Action.strength_sheet,
    Action.new_seed,
    Action.keep_sample,
    Action.checkpoints,
    Action.checkpoint_files,
}

owner = Actor(platform="telegram", user_id=str(OWNER_TG))
stranger = Actor(platform="telegram", user_id="8899")


@pytest.fixture
async def rpc(prepared_rpc_daemon: Daemon) -> AsyncIterator[DaemonClient]:
    async with DaemonClient(prepared_rpc_daemon.url, RPC_TOKEN, attempts=2) as client:
        yield client


async def test_fixing_a_caption_by_its_number(rpc: DaemonClient, prepared: Prepared) -> None:
    dataset_id = prepared.dataset_id
    listed = await captions.review(rpc, owner, dataset_id)
    assert f"1. {CAPTION}" in listed.text and "2. —" in listed.text
    assert [b.action for b in listed.buttons] == [Action.fix_caption, Action.captions_done]

    asked, number = await captions.pick(rpc, owner, dataset_id, "5")  # only 4 images
    assert number is None and asked.text == media_texts.NOT_A_NUMBER.format(count=4)
    asked, number = await captions.pick(rpc, owner, dataset_id, " #1 ")
    assert number == 1 and CAPTION in asked.text

    fixed = await captions.fix(rpc, owner, dataset_id, "2", "  a blue circle  ")
    assert fixed.text.startswith(media_texts.FIXED.format(n=2))
    assert "2. a blue circle" in fixed.text
    unchanged = await captions.fix(rpc, owner, dataset_id, "0", "nothing")
    assert unchanged.text.startswith(media_texts.NOT_A_NUMBER.format(count=4))
    empty = await captions.fix(rpc, owner, dataset_id, "3", "   ")
    assert empty.text.startswith(media_texts.EMPTY_CAPTION.format(n=3))
    images = await rpc.images(owner, dataset_id)
    assert [i.caption for i in images] == [CAPTION, "a blue circle", "", ""]
    with pytest.raises(NotFoundError):  # another person's dataset is not there for them
        await captions.fix(rpc, stranger, dataset_id, "1", "mine now")
    assert (await rpc.images(owner, dataset_id))[0].caption == CAPTION


async def test_continue_opens_the_trigger_step_and_captions_are_offered_once(
    rpc: DaemonClient, prepared: Prepared
) -> None:
    press = Press(Action.captions_done, str(prepared.dataset_id), "", owner, None)
    outcome = await dispatch(rpc, press)
    assert outcome.journey is not None and outcome.journey.step is TrainStep.trigger
    assert outcome.screen is not None and f"Suggested: {TRIGGER}" in outcome.screen.text
    # Back at the image step of the dataset: three images have no caption, so Done offers them.
    flow = TrainFlow(rpc, owner, TrainState())
    await flow.pick_dataset(prepared.dataset_id)
    offer = await flow.images_done()
    assert "3 of your images have no caption" in offer.text
    price = await flow.caption_price()
    assert flow.state.step is TrainStep.caption_summary and flow.state.quote_id
    assert f"Price: {flow.state.cost} points" in price.text and "holds until" in price.text
    assert f"You need {flow.state.cost} more points" in price.text  # the training spent it all
    refused = await flow.confirm(flow.state.summary_id or "")
    assert refused.job is None and "You need" in refused.screen.text
    assert [b.action for b in refused.screen.buttons] == [Action.skip_captions]
    assert await rpc.jobs(owner) != [] and all(j.kind == "train" for j in await rpc.jobs(owner))


async def test_generation_price_warns_without_the_trigger_word(
    rpc: DaemonClient, prepared: Prepared
) -> None:
    flow = GenerateFlow(rpc, owner, GenerateState())
    models = await flow.begin()
    assert [b.arg for b in models.buttons] == [str(prepared.model_id)]
    prompt = await flow.pick_model(prepared.model_id)
    assert prompt.suggestion == f"a photo of {TRIGGER}" and TRIGGER in prompt.text
    assert (await flow.text(" " * 3)).text.startswith("A prompt is 1 to 1000 characters")
    assert flow.state.step is GenerateStep.prompt
    price = await flow.text("a red square")
    assert flow.state.step is GenerateStep.summary and "⚠" in price.text
    again = GenerateFlow(rpc, owner, GenerateState())
    await again.open_model(prepared.model_id)
    priced = await again.use_suggested_prompt()
    assert "⚠" not in priced.text and f"Prompt: a photo of {TRIGGER}" in priced.text
    assert "2 image(s)" in priced.text and "seed random" in priced.text
    assert (await flow.cancel()).text == media_texts.GENERATION_CANCELLED_FLOW


async def test_cancelled_captions_and_generations_have_their_own_words(
    prepared_rpc_daemon: Daemon, rpc: DaemonClient, prepared: Prepared
) -> None:
    await prepared_rpc_daemon.grant(owner.header, 500)
    flow = TrainFlow(rpc, owner, TrainState())
    await flow.pick_dataset(prepared.dataset_id)
    await flow.images_done()
    await flow.caption_price()
    captioning = await flow.confirm(flow.state.summary_id or "")
    assert captioning.job is not None and not captioning.follow  # no live training progress
    generate = GenerateFlow(rpc, owner, GenerateState())
    await generate.open_model(prepared.model_id)
    await generate.use_suggested_prompt()
    generating = await generate.confirm(generate.state.summary_id or "")
    assert generating.generation is not None
    for job_id in (captioning.job.id, generating.generation.id):
        await rpc.cancel_job(owner, job_id)
    sent = [await notification_messages(rpc, n) for n in await rpc.notifications("telegram")]
    caption_text = media_texts.CAPTIONS_CANCELLED.format(
        job_id=captioning.job.id, refunded=captioning.job.cost
    )
    generation_text = media_texts.GENERATION_CANCELLED.format(
        job_id=generating.generation.id, refunded=generating.generation.cost
    )
    assert [[m.text for m in messages] for messages in sent] == [[caption_text], [generation_text]]
    continue_button = sent[0][0].rows[0][0]
    assert (continue_button.action, continue_button.arg) == (
        Action.captions_done,
        str(prepared.dataset_id),
    )
    assert all(m.kind is OutKind.text for messages in sent for m in messages)
    assert (await rpc.me(owner)).balance == 500  # both refunded in full
