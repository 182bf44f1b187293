"""An upload of files whose headers claim more pixels than their data holds: each is refused
on its own (CORRUPT_IMAGE) and nothing of it is stored, while the good file beside it is."""

from pathlib import Path

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from core.db.models import Image
from core.settings import Settings
from daemon.keys import SESSIONMAKER
from tests import imagefactory as f
from tests.conftest import user_headers
from tests.core.test_images import forged_jpeg, forged_png

ALICE = user_headers("telegram:forger")


def _stored_files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "blobs").rglob("*") if p.is_file()]


async def test_forged_headers_are_refused_file_by_file(
    client: TestClient, settings: Settings
) -> None:
    created = await client.post("/v1/datasets", json={"name": "forged"}, headers=ALICE)
    dataset = (await created.json())["id"]
    form = FormData()
    files = {
        "forged.jpg": forged_jpeg(6000, 6000),
        "good.jpg": f.jpeg_bytes(64, 48, seed=2),
        "forged.png": forged_png(6000, 6000),
    }
    for name, content in files.items():
        form.add_field("image", content, filename=name, content_type="application/octet-stream")
    response = await client.post(f"/v1/datasets/{dataset}/images", data=form, headers=ALICE)
    body = await response.json()
    assert response.status == 200, body
    assert [a["filename"] for a in body["added"]] == ["good.jpg"]
    assert [(r["filename"], r["code"]) for r in body["refused"]] == [
        ("forged.jpg", "CORRUPT_IMAGE"),
        ("forged.png", "CORRUPT_IMAGE"),
    ]
    async with client.app[SESSIONMAKER].begin() as session:
        assert await session.scalar(select(func.count()).select_from(Image)) == 1
    assert len(_stored_files(settings.data_dir)) == 1
