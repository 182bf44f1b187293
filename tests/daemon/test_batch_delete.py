"""Batch delete of datasets: each id answered on its own (deleted, in_use, not_found), one
transaction each, another person's datasets untouched and answered as missing ones are."""

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from core.db.models import Dataset, Image
from core.enums import Visibility
from daemon.keys import BLOBS, SESSIONMAKER
from tests.conftest import job_body, make_account, make_dataset, user_headers
from tests.daemon.hostile import snapshot

OWNER = user_headers("telegram:3301")
PATH = "/v1/datasets/batch-delete"


async def test_each_dataset_is_answered_on_its_own_and_nothing_else_changes(
    client: TestClient,
) -> None:
    app = client.app
    async with app[SESSIONMAKER].begin() as session:
        owner = await make_account(session, platform_user_id="3301", balance=1000)
        other = await make_account(session, platform_user_id="3302")
        free = await make_dataset(session, owner.id, images=2, blobs=app[BLOBS])
        busy = await make_dataset(session, owner.id, images=4)
        theirs = await make_dataset(session, other.id, images=1)
        public = await make_dataset(session, other.id, images=1, visibility=Visibility.public)
        ids = {"free": free.id, "busy": busy.id, "theirs": theirs.id, "public": public.id}
    queued = await client.post("/v1/jobs", json=job_body(busy.id), headers=OWNER)
    assert queued.status == 201, await queued.text()
    async with app[SESSIONMAKER]() as session:
        stored = list(
            await session.scalars(select(Image.blob_key).where(Image.dataset_id == free.id))
        )
    assert len(stored) == 2 and all(app[BLOBS].path(key).is_file() for key in stored)
    asked = [ids["free"], ids["busy"], ids["theirs"], ids["public"], 987654]
    response = await client.post(PATH, json={"ids": asked}, headers=OWNER)
    assert response.status == 200, await response.text()
    answer = await response.json()
    assert [(r["id"], r["status"]) for r in answer["results"]] == [
        (ids["free"], "deleted"),
        (ids["busy"], "in_use"),
        (ids["theirs"], "not_found"),
        (ids["public"], "not_found"),
        (987654, "not_found"),
    ]
    messages = {r["id"]: r["message"] for r in answer["results"]}
    # Another's dataset, published or not, reads exactly as a missing one.
    for hidden in (ids["theirs"], ids["public"], 987654):
        assert messages[hidden] == f"dataset {hidden} does not exist or is not yours"
    assert str((await queued.json())["id"]) in messages[ids["busy"]]
    assert answer["blobs_removed"] == 2
    assert not any(app[BLOBS].path(key).exists() for key in stored)
    async with app[SESSIONMAKER]() as session:
        left = set(await session.scalars(select(Dataset.id)))
        images = dict(
            (
                await session.execute(
                    select(Image.dataset_id, func.count()).group_by(Image.dataset_id)
                )
            ).all()
        )
    assert left == {ids["busy"], ids["theirs"], ids["public"]}
    assert images == {ids["busy"]: 4, ids["theirs"]: 1, ids["public"]: 1}


async def test_bad_batches_are_refused_with_400_and_delete_nothing(client: TestClient) -> None:
    async with client.app[SESSIONMAKER].begin() as session:
        owner = await make_account(session, platform_user_id="3301")
        dataset = await make_dataset(session, owner.id, images=1)
    before = await snapshot(client.app[SESSIONMAKER])
    bodies: list[Any] = [
        {"ids": []},
        {"ids": list(range(1, 102))},
        {"ids": [dataset.id, dataset.id]},
        {"ids": [0]},
        {"ids": ["1"]},
        {"ids": [True]},
        {},
        {"ids": [dataset.id], "extra": 1},
    ]
    for body in bodies:
        response = await client.post(PATH, json=body, headers=OWNER)
        assert response.status == 400, (body, await response.text())
        assert (await response.json())["error"]["code"] == "INVALID_INPUT"
    duplicate = await client.post(PATH, json={"ids": [dataset.id, dataset.id]}, headers=OWNER)
    assert "each id may appear once" in (await duplicate.json())["error"]["message"]
    assert await snapshot(client.app[SESSIONMAKER]) == before
