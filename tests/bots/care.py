"""What the dataset care tests of both platforms share: the zip they import and its checks."""

import io
import zipfile

import aiohttp
from PIL import Image

from bots.common.actions import Action
from tests.bots.conftest import Daemon, png
from tests.conftest import user_headers

CARE_ACTIONS = {Action.care_sheet, Action.care_ask, Action.remove_image}


def zipped(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in entries.items():
            z.writestr(path, data)
    return out.getvalue()


# Two captioned images in a folder, one without a caption, a file that is not an image, one
# that only claims to be, and macOS's junk.
ZIP_ENTRIES = {
    "cats/cat1.png": png(1),
    "cats/cat1.txt": b"a cat on a sofa",
    "cats/cat2.png": png(2),
    "cats/cat2.txt": b"a cat asleep",
    "cat3.png": png(3),
    "notes.pdf": b"%PDF-1.4 minutes",
    "broken.png": b"not a picture at all",
    "__MACOSX/cats/._cat1.png": b"resource fork",
}


def zip_refusals(text: str) -> None:
    """The acknowledgement of ZIP_ENTRIES: three added, the two bad files with their reasons."""
    assert "Added 3 images" in text and "now has 3" in text
    assert "✗ notes.pdf: not an image (PNG, JPEG or WebP) nor a .txt caption" in text
    assert "✗ broken.png:" in text and "._cat1" not in text


async def check_zip_captions(daemon: Daemon, who: str) -> int:
    """The imported images carry their sidecars' captions; the dataset's id."""
    dataset = (await daemon.get("/v1/datasets", who))["datasets"][0]
    images = (await daemon.get(f"/v1/datasets/{dataset['id']}/images", who))["images"]
    assert [(i["filename"], i["caption"]) for i in images] == [
        ("cat1.png", "a cat on a sofa"),
        ("cat2.png", "a cat asleep"),
        ("cat3.png", ""),
    ]
    return int(dataset["id"])


async def add_images(daemon: Daemon, who: str, dataset_id: int, count: int) -> None:
    """Upload `count` more pictures straight to the daemon."""
    form = aiohttp.FormData()
    for i in range(count):
        form.add_field("image", png(100 + i), filename=f"more{i:02}.png")
    url = f"{daemon.url}/v1/datasets/{dataset_id}/images"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=form, headers=user_headers(who)) as r,
    ):
        assert r.status == 200, await r.text()
        assert len((await r.json())["added"]) == count


def sheet_size(data: bytes) -> tuple[int, int]:
    """The PNG's size; it must decode."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.size
