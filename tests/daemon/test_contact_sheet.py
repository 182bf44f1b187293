"""`GET /v1/datasets/{id}/contact-sheet`: numbered thumbnails, paged, in the listing's order."""

import io
from typing import Any

from aiohttp.test_utils import TestClient
from PIL import Image

from core.contact_sheet import BADGE, CELL, COLUMNS, GAP, tile_box
from daemon.schemas import CONTACT_SHEET_PER_PAGE
from tests.daemon.test_datasets_api import ALICE, BOB, form, new_dataset

# 23 images: a full first page and 3 on the second.
COUNT = CONTACT_SHEET_PER_PAGE + 3


def colour(i: int) -> tuple[int, int, int]:
    """A colour per image, far enough from the others to tell tiles apart."""
    return (40 + (i * 53) % 200, 40 + (i * 97) % 200, 40 + (i * 31) % 200)


def solid(i: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (96, 64), colour(i)).save(out, "PNG")
    return out.getvalue()


async def _dataset(client: TestClient) -> tuple[int, list[dict[str, Any]]]:
    dataset_id = await new_dataset(client)
    files = {f"img{i:02}.png": solid(i) for i in range(COUNT)}
    response = await client.post(
        f"/v1/datasets/{dataset_id}/images", data=form(files), headers=ALICE
    )
    assert response.status == 200, await response.text()
    listed = await client.get(f"/v1/datasets/{dataset_id}/images", headers=ALICE)
    return dataset_id, (await listed.json())["images"]


async def _sheet(client: TestClient, dataset_id: int, page: int, headers: Any = ALICE) -> Any:
    response = await client.get(
        f"/v1/datasets/{dataset_id}/contact-sheet?page={page}", headers=headers
    )
    assert response.status == 200, await response.text()
    assert response.content_type == "image/png"
    return Image.open(io.BytesIO(await response.read())).convert("RGB")


def _tile_colour(sheet: Image.Image, index: int) -> tuple[int, int, int]:
    left, top, right, bottom = tile_box(index)
    # Below the number badge, in the middle of the thumbnail.
    return sheet.getpixel(((left + right) // 2, (top + BADGE + bottom) // 2))  # type: ignore[return-value]


def _close(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return all(abs(x - y) <= 6 for x, y in zip(a, b, strict=True))


async def test_pages_hold_the_listing_in_order(client: TestClient) -> None:
    dataset_id, images = await _dataset(client)
    assert [i["filename"] for i in images] == [f"img{i:02}.png" for i in range(COUNT)]
    first = await _sheet(client, dataset_id, 1)
    rows = CONTACT_SHEET_PER_PAGE // COLUMNS
    assert first.size == (GAP + COLUMNS * (CELL + GAP), GAP + rows * (CELL + GAP))
    for index in range(CONTACT_SHEET_PER_PAGE):
        assert _close(_tile_colour(first, index), colour(index)), index
    second = await _sheet(client, dataset_id, 2)
    assert second.size == (GAP + 3 * (CELL + GAP), GAP + CELL + GAP)  # 3 tiles, one row
    for index in range(3):
        assert _close(_tile_colour(second, index), colour(CONTACT_SHEET_PER_PAGE + index))

    # A removed image leaves the sheet: the numbers after it move up by one.
    removed = images[1]["id"]
    response = await client.delete(f"/v1/datasets/{dataset_id}/images/{removed}", headers=ALICE)
    assert response.status == 200
    again = await _sheet(client, dataset_id, 1)
    assert _close(_tile_colour(again, 1), colour(2))
    assert _close(_tile_colour(again, CONTACT_SHEET_PER_PAGE - 1), colour(20))


async def test_a_page_past_the_last_or_a_bad_one_is_refused(client: TestClient) -> None:
    dataset_id, _ = await _dataset(client)
    path = f"/v1/datasets/{dataset_id}/contact-sheet"
    response = await client.get(f"{path}?page=3", headers=ALICE)
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["code"] == "PAGE_OUT_OF_RANGE" and error["details"] == {"pages": 2}
    for page in ("0", "-1", "two", "1.5"):
        response = await client.get(f"{path}?page={page}", headers=ALICE)
        assert response.status == 400, page
        assert (await response.json())["error"]["code"] == "INVALID_INPUT"
    empty = await new_dataset(client)
    response = await client.get(f"/v1/datasets/{empty}/contact-sheet", headers=ALICE)
    assert response.status == 409
    assert (await response.json())["error"]["code"] == "DATASET_EMPTY"


async def test_another_persons_private_dataset_answers_as_a_missing_one(
    client: TestClient,
) -> None:
    dataset_id, _ = await _dataset(client)
    mine = await client.get(f"/v1/datasets/{dataset_id}/contact-sheet", headers=BOB)
    missing = await client.get("/v1/datasets/999999/contact-sheet", headers=BOB)
    assert mine.status == missing.status == 404
    body, other = await mine.json(), await missing.json()
    assert body["error"]["code"] == other["error"]["code"]
    # Published, it is everyone's to look at.
    patch = {"visibility": "public", "licence": "CC-BY-4.0"}
    response = await client.patch(f"/v1/datasets/{dataset_id}", json=patch, headers=ALICE)
    assert response.status == 200, await response.text()
    sheet = await _sheet(client, dataset_id, 2, headers=BOB)
    assert _close(_tile_colour(sheet, 0), colour(CONTACT_SHEET_PER_PAGE))
