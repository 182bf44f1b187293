"""`/v1/datasets...` over real HTTP on 127.0.0.1 against `create_app`, with a real SQLite file
and real blob files in a temporary DATA_DIR."""

import asyncio
import io
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from PIL import Image as PILImage
from sqlalchemy import func, select

from core.db.models import Image, Job
from core.enums import JobStatus
from core.settings import Settings
from daemon.app import create_app
from daemon.keys import SESSIONMAKER
from tests import imagefactory as f
from tests.conftest import RPC_HEADERS, user_headers
from tests.core.datasets.builders import add_job

ALICE = user_headers("telegram:alice")
BOB = user_headers("discord:bob")


@pytest.fixture
def make_client(aiohttp_client: Any, make_settings: Callable[..., Settings]) -> Callable[..., Any]:
    async def build(**overrides: Any) -> TestClient:
        return await aiohttp_client(create_app(make_settings(**overrides)))

    return build


def form(files: dict[str, bytes], captions: dict[str, str] | str | None = None) -> FormData:
    data = FormData()
    for name, content in files.items():
        data.add_field("image", content, filename=name, content_type="application/octet-stream")
    if captions is not None:
        text = captions if isinstance(captions, str) else json.dumps(captions)
        data.add_field("captions", text, content_type="application/json")
    return data


async def new_dataset(client: TestClient, headers: dict[str, str] = ALICE, **fields: Any) -> int:
    body = {"name": f"set-{uuid.uuid4().hex[:6]}", "trigger_word": "zqx", **fields}
    response = await client.post("/v1/datasets", json=body, headers=headers)
    assert response.status == 201, await response.text()
    return (await response.json())["id"]


async def upload(
    client: TestClient, dataset_id: int, files: dict[str, bytes], captions: Any = None, **kw: Any
) -> tuple[int, dict[str, Any]]:
    headers = kw.get("headers", ALICE)
    response = await client.post(
        f"/v1/datasets/{dataset_id}/images", data=form(files, captions), headers=headers
    )
    return response.status, await response.json()


class Stored:
    """What is on disk and in the database: compared before and after a request."""

    def __init__(self, client: TestClient, data_dir: Path) -> None:
        self.client = client
        self.blobs = data_dir / "blobs"

    async def snapshot(self) -> tuple[int, list[str], list[str]]:
        async with self.client.app[SESSIONMAKER].begin() as session:
            rows = await session.scalar(select(func.count()).select_from(Image))
        files = sorted(p.name for p in (self.blobs / "images").rglob("*") if p.is_file())
        temps = sorted(p.name for p in (self.blobs / ".tmp").iterdir())
        return int(rows or 0), files, temps


@pytest.fixture
async def stored(client: TestClient, settings: Settings) -> AsyncIterator[Stored]:
    yield Stored(client, settings.data_dir)


async def test_dataset_crud(client: TestClient) -> None:
    body = {"name": "Cats", "trigger_word": "sks_cat", "description": "mine", "tags": ["pets"]}
    created = await client.post("/v1/datasets", json=body, headers=ALICE)
    assert created.status == 201
    dataset = await created.json()
    assert {k: dataset[k] for k in (*body, "visibility", "image_count", "owned")} == {
        **body,
        "visibility": "private",
        "image_count": 0,
        "owned": True,
    }
    again = await client.post("/v1/datasets", json=body, headers=ALICE)
    assert again.status == 409
    assert (await again.json())["error"]["code"] == "DATASET_NAME_TAKEN"
    patched = await client.patch(
        f"/v1/datasets/{dataset['id']}",
        json={"visibility": "public", "licence": "CC-BY-4.0"},
        headers=ALICE,
    )
    assert patched.status == 200 and (await patched.json())["visibility"] == "public"
    listed = await (await client.get("/v1/datasets", headers=ALICE)).json()
    assert [d["id"] for d in listed["datasets"]] == [dataset["id"]]
    gone = await client.delete(f"/v1/datasets/{dataset['id']}", headers=ALICE)
    assert gone.status == 200 and (await gone.json())["deleted"] is True
    assert (await client.get(f"/v1/datasets/{dataset['id']}", headers=ALICE)).status == 404


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "x" * 101},
        {"name": "ok", "trigger_word": "two words"},
        {"name": "ok", "trigger_word": "x" * 65},
        {"name": "ok", "visibility": "secret"},
        {"name": "ok", "unknown": 1},
        {"trigger_word": "noname"},
    ],
)
async def test_bad_dataset_bodies_are_400(client: TestClient, body: dict[str, Any]) -> None:
    response = await client.post("/v1/datasets", json=body, headers=ALICE)
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["code"] == "INVALID_INPUT" and error["details"]["fields"]
    listed = await (await client.get("/v1/datasets", headers=ALICE)).json()
    assert listed["datasets"] == []


async def test_visibility_between_accounts(client: TestClient) -> None:
    private = await new_dataset(client, ALICE)
    public = await new_dataset(client, ALICE, visibility="public", licence="CC0-1.0")
    await upload(client, public, {"a.png": f.png_bytes()})
    assert (await client.get(f"/v1/datasets/{private}", headers=BOB)).status == 404
    assert (await client.get(f"/v1/datasets/{private}/images", headers=BOB)).status == 404
    shown = await (await client.get(f"/v1/datasets/{public}", headers=BOB)).json()
    assert shown["owned"] is False and shown["image_count"] == 1
    own_only = await (await client.get("/v1/datasets", headers=BOB)).json()
    assert own_only["datasets"] == []
    everything = await client.get("/v1/datasets?include_public=true", headers=BOB)
    assert [d["id"] for d in (await everything.json())["datasets"]] == [public]
    images = await (await client.get(f"/v1/datasets/{public}/images", headers=BOB)).json()
    image_id = images["images"][0]["id"]
    file = await client.get(f"/v1/datasets/{public}/images/{image_id}/file", headers=BOB)
    assert file.status == 200 and file.content_type == "image/jpeg"
    # Others may look and train, never change.
    for method, path, body in [
        ("PATCH", f"/v1/datasets/{public}", {"name": "mine now"}),
        ("DELETE", f"/v1/datasets/{public}", None),
        ("PATCH", f"/v1/datasets/{public}/images/{image_id}", {"caption": "x"}),
        ("DELETE", f"/v1/datasets/{public}/images/{image_id}", None),
    ]:
        response = await client.request(method, path, json=body, headers=BOB)
        assert response.status == 403, (method, path)
    status, body = await upload(client, public, {"b.png": f.png_bytes(seed=2)}, headers=BOB)
    assert status == 403 and body["error"]["code"] == "FORBIDDEN"
    shown = await (await client.get(f"/v1/datasets/{public}", headers=ALICE)).json()
    assert shown["image_count"] == 1 and shown["name"] != "mine now"


async def test_every_refusal_file_by_file(
    make_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    client = await make_client(max_image_bytes=40_000)
    stored = Stored(client, make_settings().data_dir)
    dataset = await new_dataset(client)
    files = {
        "good.png": f.png_bytes(seed=1),
        "good-again.webp": f.webp_bytes(seed=1),  # same pixels: a duplicate in this upload
        "notes.txt": b"just some text, not a picture",
        "noise.bin": f.random_bytes(),
        "cut.jpg": f.truncated_jpeg_bytes(),
        "anim.gif": f.gif_bytes(),
        "scan.tiff": f.tiff_bytes(),
        "old.bmp": f.bmp_bytes(),
        "huge.png": f.noise_png_bytes(128, 128),  # ~49 KB > 40 KB
        "bomb.png": f.bomb_png_bytes(),
        "captioned.jpg": f.jpeg_bytes(seed=2),
        "badcaption.png": f.png_bytes(seed=3),
    }
    captions = {"captioned.jpg": "a red square", "badcaption.png": "line\nbreak"}
    status, body = await upload(client, dataset, files, captions)
    assert status == 200, body
    assert [(a["filename"], a["caption"]) for a in body["added"]] == [
        ("good.png", ""),
        ("captioned.jpg", "a red square"),
    ]
    assert [(r["filename"], r["code"]) for r in body["refused"]] == [
        ("good-again.webp", "DUPLICATE_IMAGE"),
        ("notes.txt", "NOT_AN_IMAGE"),
        ("noise.bin", "NOT_AN_IMAGE"),
        ("cut.jpg", "CORRUPT_IMAGE"),
        ("anim.gif", "UNSUPPORTED_FORMAT"),
        ("scan.tiff", "UNSUPPORTED_FORMAT"),
        ("old.bmp", "UNSUPPORTED_FORMAT"),
        ("huge.png", "FILE_TOO_LARGE"),
        ("bomb.png", "TOO_MANY_PIXELS"),
        ("badcaption.png", "INVALID_CAPTION"),
    ]
    assert all(r["message"] for r in body["refused"])
    rows, files_on_disk, temps = await stored.snapshot()
    assert (rows, len(files_on_disk), temps) == (2, 2, [])
    # The same upload again: every good file is now a duplicate and nothing new is stored.
    status, again = await upload(client, dataset, files, captions)
    assert status == 200 and again["added"] == []
    codes = {r["filename"]: r["code"] for r in again["refused"]}
    assert codes["good.png"] == codes["captioned.jpg"] == "DUPLICATE_IMAGE"
    assert await stored.snapshot() == (rows, files_on_disk, temps)


async def test_dataset_full_and_quota_over_http(
    make_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    client = await make_client(max_images_per_dataset=2, account_quota_bytes=6_000)
    stored = Stored(client, make_settings().data_dir)
    dataset = await new_dataset(client)
    three = {f"{i}.png": f.png_bytes(seed=i) for i in range(3)}
    status, body = await upload(client, dataset, three)
    assert [a["filename"] for a in body["added"]] == ["0.png", "1.png"]
    assert [(r["filename"], r["code"]) for r in body["refused"]] == [("2.png", "DATASET_FULL")]
    other = await new_dataset(client)
    before = await stored.snapshot()
    status, body = await upload(client, other, {"big.png": f.noise_png_bytes(48, 48)})
    assert body["added"] == [] and body["refused"][0]["code"] == "QUOTA_EXCEEDED"
    assert await stored.snapshot() == before


async def test_exif_rotation_and_stripped_metadata_in_the_stored_file(client: TestClient) -> None:
    dataset = await new_dataset(client)
    files = {
        "phone.jpg": f.split_jpeg_bytes(orientation=6),
        "gps.jpg": f.jpeg_with_metadata_bytes(),
    }
    status, body = await upload(client, dataset, files)
    assert status == 200 and body["refused"] == []
    rotated, tagged = body["added"]
    assert (rotated["width"], rotated["height"]) == (24, 48)
    url = f"/v1/datasets/{dataset}/images/{rotated['id']}/file"
    picture = PILImage.open(io.BytesIO(await (await client.get(url, headers=ALICE)).read()))
    assert picture.size == (24, 48)
    red = picture.convert("RGB").getpixel((12, 6))
    assert red[0] > 150 and red[2] < 100  # the red half is on top
    url = f"/v1/datasets/{dataset}/images/{tagged['id']}/file"
    raw = await (await client.get(url, headers=ALICE)).read()
    assert b"LeakyCam" not in raw and b"secret comment" not in raw
    assert not PILImage.open(io.BytesIO(raw)).getexif()


async def test_strangers_and_bad_requests_store_nothing(
    client: TestClient, stored: Stored
) -> None:
    dataset = await new_dataset(client)
    before = await stored.snapshot()
    files = {"a.png": f.png_bytes()}
    assert (await upload(client, dataset, files, headers=BOB))[0] == 404
    assert (await upload(client, 999_999, files))[0] == 404
    no_user = await client.post(
        f"/v1/datasets/{dataset}/images", data=form(files), headers=RPC_HEADERS
    )
    assert no_user.status == 400
    no_token = await client.post(
        f"/v1/datasets/{dataset}/images", data=form(files), headers={"X-User": "telegram:alice"}
    )
    assert no_token.status == 401
    status, body = await upload(client, dataset, files, "{not json")
    assert status == 400 and "not valid JSON" in body["error"]["message"]
    status, body = await upload(client, dataset, files, ["a list"])
    assert status == 400 and body["error"]["code"] == "INVALID_INPUT"
    status, body = await upload(client, dataset, files, {"typo.png": "caption"})
    assert status == 400 and body["error"]["details"]["files"] == ["typo.png"]
    as_json = await client.post(f"/v1/datasets/{dataset}/images", json={"a": 1}, headers=ALICE)
    assert as_json.status == 400
    boundary = "b0undary"
    nameless = _multipart_body([("image", None, f.png_bytes())], boundary)
    headers = {**ALICE, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    response = await client.post(f"/v1/datasets/{dataset}/images", data=nameless, headers=headers)
    assert response.status == 400
    assert "needs a filename" in (await response.json())["error"]["message"]
    other_part = FormData()
    other_part.add_field("file", f.png_bytes(), filename="a.png")
    response = await client.post(f"/v1/datasets/{dataset}/images", data=other_part, headers=ALICE)
    assert (
        response.status == 400 and "unexpected part" in (await response.json())["error"]["message"]
    )
    assert await stored.snapshot() == before


def _multipart_body(parts: list[tuple[str, str | None, bytes]], boundary: str) -> bytes:
    """A multipart body by hand: (part name, file name or None, content) per part."""
    chunks = []
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        head = (
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        chunks.append(head.encode() + content + b"\r\n")
    return b"".join(chunks) + f"--{boundary}--\r\n".encode()


async def test_total_upload_limit(
    make_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    client = await make_client(max_upload_bytes=100_000)
    stored = Stored(client, make_settings().data_dir)
    dataset = await new_dataset(client)
    before = await stored.snapshot()
    files = {"a.png": f.noise_png_bytes(150, 150, seed=1), "b.png": f.noise_png_bytes(150, 150, 2)}
    # With a Content-Length, refused before reading; streamed (chunked), refused while reading.
    status, body = await upload(client, dataset, files)
    assert status == 413 and body["error"]["code"] == "UPLOAD_TOO_LARGE"
    boundary = "lorabot-test-boundary"
    payload = _multipart_body([("image", name, data) for name, data in files.items()], boundary)

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 16_384):
            yield payload[start : start + 16_384]

    headers = {**ALICE, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    response = await client.post(f"/v1/datasets/{dataset}/images", data=stream(), headers=headers)
    assert response.status == 413
    assert (await response.json())["error"]["code"] == "UPLOAD_TOO_LARGE"
    assert await stored.snapshot() == before
    # The same stream under the limit is read the same way and stored.
    small = _multipart_body([("image", "c.png", f.png_bytes(seed=4))], boundary)
    response = await client.post(f"/v1/datasets/{dataset}/images", data=small, headers=headers)
    assert response.status == 200 and len((await response.json())["added"]) == 1


async def test_images_list_recaption_delete(client: TestClient, stored: Stored) -> None:
    dataset = await new_dataset(client)
    copy = await new_dataset(client)
    await upload(client, dataset, {"a.png": f.png_bytes(seed=1), "b.png": f.png_bytes(seed=2)})
    await upload(client, copy, {"same.png": f.png_bytes(seed=1)})
    listed = await (await client.get(f"/v1/datasets/{dataset}/images", headers=ALICE)).json()
    first, second = listed["images"]
    assert set(first) >= {"id", "filename", "width", "height", "caption", "byte_size"}
    assert set(first) >= {"content_hash", "created_at"}
    url = f"/v1/datasets/{dataset}/images/{first['id']}"
    patched = await client.patch(url, json={"caption": "a new caption"}, headers=ALICE)
    assert patched.status == 200 and (await patched.json())["caption"] == "a new caption"
    too_long = await client.patch(url, json={"caption": "x" * 501}, headers=ALICE)
    assert too_long.status == 400
    assert (await too_long.json())["error"]["code"] == "INVALID_CAPTION"
    wrong_dataset = f"/v1/datasets/{copy}/images/{first['id']}"
    assert (await client.delete(wrong_dataset, headers=ALICE)).status == 404
    deleted = await client.delete(url, headers=ALICE)
    assert (await deleted.json())["blobs_removed"] == 0  # "copy" still holds the same picture
    url = f"/v1/datasets/{dataset}/images/{second['id']}"
    assert (await (await client.delete(url, headers=ALICE)).json())["blobs_removed"] == 1
    assert (await client.get(url + "/file", headers=ALICE)).status == 404
    rows, files, temps = await stored.snapshot()
    assert (rows, len(files), temps) == (1, 1, [])


async def test_delete_refused_while_a_job_uses_the_dataset(
    client: TestClient, stored: Stored
) -> None:
    dataset = await new_dataset(client)
    await upload(client, dataset, {"a.png": f.png_bytes()})
    sessionmaker = client.app[SESSIONMAKER]
    async with sessionmaker() as session:
        account_id = await session.scalar(select(Image.account_id))
    assert account_id is not None
    job_id = await add_job(sessionmaker, account_id, dataset, JobStatus.training)
    before = await stored.snapshot()
    response = await client.delete(f"/v1/datasets/{dataset}", headers=ALICE)
    assert response.status == 409
    assert (await response.json())["error"]["code"] == "DATASET_IN_USE"
    assert await stored.snapshot() == before
    async with client.app[SESSIONMAKER].begin() as session:
        (await session.get(Job, job_id)).status = JobStatus.completed  # type: ignore[union-attr]
    assert (await client.delete(f"/v1/datasets/{dataset}", headers=ALICE)).status == 200
    assert await stored.snapshot() == (0, [], [])


async def test_openapi_describes_the_dataset_routes(client: TestClient) -> None:
    doc = await (await client.get("/openapi.json")).json()
    paths = doc["paths"]
    assert set(paths["/v1/datasets"]) == {"get", "post"}
    assert set(paths["/v1/datasets/{id}"]) == {"get", "patch", "delete"}
    upload_op = paths["/v1/datasets/{id}/images"]["post"]
    assert "multipart/form-data" in upload_op["requestBody"]["content"]
    assert {"200", "404", "413"} <= set(upload_op["responses"])
    assert "UploadResult" in doc["components"]["schemas"]
    assert "get" in paths["/v1/datasets/{id}/images/{image_id}/file"]


async def test_the_daemon_answers_while_images_are_decoded(client: TestClient) -> None:
    dataset = await new_dataset(client)
    # Sideways phone photos: turned upright, so fully decoded and re-encoded (an upright JPEG
    # keeps its compressed data and costs only a reduced decode).
    sideways = PILImage.Exif()
    sideways[f.EXIF_ORIENTATION] = 6
    files = {
        f"{i}.jpg": f.encode(f.shapes_image(4000, 3000, seed=i), "JPEG", exif=sideways)
        for i in range(3)
    }
    latencies: list[float] = []
    uploading = True

    async def poll() -> None:
        while uploading:
            started = time.perf_counter()
            assert (await client.get("/healthz")).status == 200
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.01)

    poller = asyncio.create_task(poll())
    started = time.perf_counter()
    status, body = await upload(client, dataset, files)
    elapsed = time.perf_counter() - started
    uploading = False
    await poller
    assert status == 200 and len(body["added"]) == 3
    # Decoding three 12 MP pictures takes a good part of a second; the loop stays free.
    assert len(latencies) >= 5, (elapsed, latencies)
    assert max(latencies) < 0.25, (elapsed, max(latencies))
