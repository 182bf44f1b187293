"""Applying a caption job's captions to its dataset (the domain, on a real SQLite database):
written, kept or missing, image by image; and the captions file between worker and daemon."""

from pathlib import Path

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.captioning.results import CAPTIONS_FILE, read_captions, write_captions
from core.captions import CaptionRequest, apply_captions, submit_captions
from core.datasets import delete_dataset
from core.db.models import Image, Job
from core.economy import MarketRules
from core.errors import Conflict, InvalidInput
from core.lifecycle import cancel
from core.offerings import OfferingRegistry
from tests.conftest import REPO, make_account, make_dataset

Maker = async_sessionmaker[AsyncSession]
REGISTRY = OfferingRegistry.load(REPO / "core" / "offerings.toml")


async def queued_job(db: Maker, **choices: object) -> tuple[Job, list[int]]:
    """A paid caption job of 3 uncaptioned images and the ids of those images."""
    async with db.begin() as session:
        account = await make_account(session, balance=10)
        dataset = await make_dataset(session, account.id, images=3, caption="")
        job, created = await submit_captions(
            session,
            REGISTRY,
            MarketRules(),
            account_id=account.id,
            platform="telegram",
            platform_user_id="1",
            request=CaptionRequest(dataset_id=dataset.id, idempotency_key="k", **choices),
            max_caption_chars=500,
        )
        assert created and job.cost == 3
        ids = await session.scalars(
            select(Image.id).where(Image.dataset_id == dataset.id).order_by(Image.id)
        )
        return job, list(ids)


async def test_an_image_deleted_meanwhile_is_missing_and_an_edited_one_kept(db: Maker) -> None:
    job, ids = await queued_job(db)
    async with db.begin() as session:
        await session.execute(delete(Image).where(Image.id == ids[1]))
        edited = await session.get(Image, ids[2])
        assert edited is not None
        edited.caption = "edited"
    async with db.begin() as session:
        row = await session.get(Job, job.id)
        assert row is not None
        result = await apply_captions(session, row, ["zqx, one", "zqx, two", "zqx, three"])
    assert (result["written"], result["kept"], result["missing"]) == (1, 1, 1)
    assert result["captions"] == [
        {"image_id": ids[0], "caption": "zqx, one", "written": True},
        {"image_id": None, "caption": "zqx, two", "written": False},
        {"image_id": ids[2], "caption": "zqx, three", "written": False},
    ]
    async with db.begin() as session:
        captions = dict((await session.execute(select(Image.id, Image.caption))).all())
        stored = await session.get(Job, job.id)
    assert captions == {ids[0]: "zqx, one", ids[2]: "edited"}
    assert stored is not None and stored.result == result


async def test_overwrite_writes_over_an_edit_and_a_deleted_dataset_misses_all(db: Maker) -> None:
    job, ids = await queued_job(db, overwrite=True)
    async with db.begin() as session:
        edited = await session.get(Image, ids[0])
        assert edited is not None
        edited.caption = "edited"
        row = await session.get(Job, job.id)
        assert row is not None
        result = await apply_captions(session, row, ["a", "b", "c"])
    assert (result["written"], result["kept"]) == (3, 0)

    other, _ = await queued_job(db)
    async with db.begin() as session:
        row = await session.get(Job, other.id)
        assert row is not None
        # A dataset a queued job uses cannot be deleted; once the job is over it can.
        with pytest.raises(Conflict):
            await delete_dataset(session, row.dataset_id or 0, row.account_id)
    async with db.begin() as session:
        row = await session.get(Job, other.id)
        assert row is not None
        dataset_id = row.dataset_id or 0
        await cancel(session, row)
        await delete_dataset(session, dataset_id, row.account_id)
    async with db.begin() as session:
        row = await session.get(Job, other.id)
        assert row is not None and row.dataset_id is None
        result = await apply_captions(session, row, ["a", "b", "c"])
    assert (result["written"], result["missing"]) == (0, 3)
    with pytest.raises(ValueError, match="2 captions for the 3 images"):
        async with db.begin() as session:
            row = await session.get(Job, other.id)
            assert row is not None
            await apply_captions(session, row, ["a", "b"])


def test_a_request_names_its_choices_and_refuses_unknown_ones() -> None:
    request = CaptionRequest(dataset_id=1, style="tags")
    assert request.fingerprint() == CaptionRequest(dataset_id=1, style="tags").fingerprint()
    assert request.fingerprint() != CaptionRequest(dataset_id=1).fingerprint()
    assert request.fingerprint() != CaptionRequest(dataset_id=2, style="tags").fingerprint()
    with pytest.raises(InvalidInput):
        CaptionRequest(dataset_id=1, images="some")
    with pytest.raises(InvalidInput):
        CaptionRequest(dataset_id=1, style="haiku")


def test_the_captions_file_reads_back_and_refuses_what_is_malformed(tmp_path: Path) -> None:
    paths = [tmp_path / "a.png", tmp_path / "b.png"]
    written = write_captions(tmp_path / "out", paths, ["zqx, dog", "zqx, cat"])
    assert written.name == CAPTIONS_FILE and read_captions(written) == ["zqx, dog", "zqx, cat"]
    assert [p.name for p in written.parent.iterdir()] == [CAPTIONS_FILE]  # no temporary left
    with pytest.raises(ValueError):
        write_captions(tmp_path / "out", paths, ["only one"])
    for bad in ('{"captions": [{"path": "a", "caption": ""}]}', '{"captions": 3}', "{"):
        written.write_text(bad, encoding="utf-8")
        with pytest.raises(ValueError):
            read_captions(written)
    with pytest.raises(OSError):
        read_captions(tmp_path / "missing.json")
