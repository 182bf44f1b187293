"""Malformed multipart bodies and undecodable file names, sent raw over real HTTP: each is a
clear 400 (or a per-file refusal) and nothing is stored."""

import json
import uuid
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from core.db.models import Image
from core.settings import Settings
from daemon.keys import SESSIONMAKER
from tests import imagefactory as f
from tests.conftest import RPC_TOKEN
from tests.daemon.hostile import raw_request

USER = "telegram:uploader"
# aiohttp warns about each unparsable Content-Disposition it meets; here that is the point.
pytestmark = pytest.mark.filterwarnings("ignore::aiohttp.BadContentDispositionHeader")


async def _dataset(client: TestClient) -> int:
    body = {"name": f"set-{uuid.uuid4().hex[:6]}", "trigger_word": "zqx"}
    response = await client.post(
        "/v1/datasets",
        json=body,
        headers={"Authorization": f"Bearer {RPC_TOKEN}", "X-User": USER},
    )
    assert response.status == 201
    return int((await response.json())["id"])


def _head(dataset_id: int, content_type: bytes) -> bytes:
    return (
        f"POST /v1/datasets/{dataset_id}/images HTTP/1.1\r\nHost: test\r\n"
        f"Authorization: Bearer {RPC_TOKEN}\r\nX-User: {USER}\r\n".encode()
        + b"Content-Type: "
        + content_type
        + b"\r\n"
    )


def _part(name: bytes, filename: bytes | None, content: bytes, boundary: bytes = b"B") -> bytes:
    disposition = b'form-data; name="' + name + b'"'
    if filename is not None:
        disposition += b'; filename="' + filename + b'"'
    return (
        b"--" + boundary + b"\r\nContent-Disposition: " + disposition + b"\r\n"
        b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n"
    )


def _body(*parts: bytes, boundary: bytes = b"B") -> bytes:
    return b"".join(parts) + b"--" + boundary + b"--\r\n"


class Stored:
    def __init__(self, client: TestClient, settings: Settings) -> None:
        self.client, self.blobs = client, settings.data_dir / "blobs"

    async def snapshot(self) -> tuple[int, list[str]]:
        async with self.client.app[SESSIONMAKER].begin() as session:
            rows = await session.scalar(select(func.count()).select_from(Image))
        files = sorted(str(p) for p in self.blobs.rglob("*") if p.is_file())
        return int(rows or 0), files


@pytest.fixture
async def stored(client: TestClient, settings: Settings) -> AsyncIterator[Stored]:
    yield Stored(client, settings)


PNG = f.png_bytes()
GOOD = _part(b"image", b"a.png", PNG)

MALFORMED = {
    "no boundary": (b"multipart/form-data", _body(GOOD)),
    "empty boundary": (b"multipart/form-data; boundary=", _body(GOOD)),
    "boundary too long": (b"multipart/form-data; boundary=" + b"x" * 100, _body(GOOD)),
    "wrong boundary": (b"multipart/form-data; boundary=OTHER", _body(GOOD)),
    "no parts at all": (b"multipart/form-data; boundary=B", b""),
    "only the closing line": (b"multipart/form-data; boundary=B", b"--B--\r\n"),
    "garbage": (b"multipart/form-data; boundary=B", b"\x00\x01\x02 not multipart \xff\xfe"),
    "cut short in the headers": (
        b"multipart/form-data; boundary=B",
        b'--B\r\nContent-Disposition: form-data; name="image"; filen',
    ),
    "cut short in the content": (b"multipart/form-data; boundary=B", GOOD[: len(GOOD) // 2]),
    "no closing boundary": (b"multipart/form-data; boundary=B", GOOD),
    "control bytes in a part header": (
        b"multipart/form-data; boundary=B",
        _body(
            b'--B\r\nContent-Disposition: form-data;\x00\x07 name="image"\r\n\r\n' + PNG + b"\r\n"
        ),
    ),
    "part header without a colon": (
        b"multipart/form-data; boundary=B",
        _body(b"--B\r\nnot a header line\r\n\r\n" + PNG + b"\r\n"),
    ),
    "oversized part header": (
        b"multipart/form-data; boundary=B",
        _body(
            b'--B\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
            b"X-Padding: " + b"p" * 200_000 + b"\r\n\r\n" + PNG + b"\r\n"
        ),
    ),
    "many part headers": (
        b"multipart/form-data; boundary=B",
        _body(
            b'--B\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
            + b"".join(b"X-H%d: v\r\n" % i for i in range(20_000))
            + b"\r\n"
            + PNG
            + b"\r\n"
        ),
    ),
    "nested multipart": (
        b"multipart/form-data; boundary=B",
        _body(
            b"--B\r\nContent-Type: multipart/mixed; boundary=C\r\n\r\n--C\r\n\r\nx\r\n--C--\r\n"
        ),
    ),
    "broken content disposition": (
        b"multipart/form-data; boundary=B",
        _body(b'--B\r\nContent-Disposition: form-data; name="image; filename=\r\n\r\nx\r\n'),
    ),
    "captions not UTF-8": (
        b"multipart/form-data; boundary=B",
        _body(GOOD, _part(b"captions", None, b'{"a.png": "\xff\xfe"}')),
    ),
    "captions with a lone surrogate": (
        b"multipart/form-data; boundary=B",
        _body(GOOD, _part(b"captions", None, b'{"a.png": "\\ud800"}')),
    ),
    "captions nested deeply": (
        b"multipart/form-data; boundary=B",
        _body(GOOD, _part(b"captions", None, b"[" * 50_000 + b"]" * 50_000)),
    ),
    "part name not UTF-8": (
        b"multipart/form-data; boundary=B",
        _body(_part(b"ima\xffge", b"a.png", PNG)),
    ),
}


# Part encodings are not decoded (RFC 7578 retired Content-Transfer-Encoding): such a file
# is refused on its own, as bytes that are not an image.
ENCODED_PARTS = {
    "base64 transfer encoding with bad data": (
        b"multipart/form-data; boundary=B",
        _body(
            b'--B\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n"
        ),
    ),
    "unknown transfer encoding": (
        b"multipart/form-data; boundary=B",
        _body(
            b'--B\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
            b"Content-Transfer-Encoding: rot13\r\n\r\nxyz\r\n"
        ),
    ),
    "gzip content encoding with bad data": (
        b"multipart/form-data; boundary=B",
        _body(
            b'--B\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
            b"Content-Encoding: gzip\r\n\r\nnot gzip at all\r\n"
        ),
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED), ids=list(MALFORMED))
async def test_malformed_multipart_is_a_400_and_stores_nothing(
    client: TestClient, stored: Stored, case: str
) -> None:
    dataset_id = await _dataset(client)
    before = await stored.snapshot()
    content_type, body = MALFORMED[case]
    status, answer = await raw_request(client, _head(dataset_id, content_type), body)
    assert status in (400, 413), (status, answer)
    assert answer["error"]["code"] in {"MALFORMED_MULTIPART", "INVALID_INPUT"}
    assert await stored.snapshot() == before


@pytest.mark.parametrize("case", list(ENCODED_PARTS), ids=list(ENCODED_PARTS))
async def test_encoded_parts_are_refused_file_by_file(
    client: TestClient, stored: Stored, case: str
) -> None:
    dataset_id = await _dataset(client)
    before = await stored.snapshot()
    content_type, body = ENCODED_PARTS[case]
    status, answer = await raw_request(client, _head(dataset_id, content_type), body)
    assert status == 200, answer
    assert answer["added"] == [] and [r["code"] for r in answer["refused"]] == ["NOT_AN_IMAGE"]
    assert await stored.snapshot() == before


@pytest.mark.parametrize(
    "filename",
    [b"\xff\xfe.png", b"caf\xe9.png", b"\xed\xa0\x80.png", b"ok\xc3.png", b"\x80" * 50],
)
async def test_undecodable_file_names_are_refused_and_store_nothing(
    client: TestClient, stored: Stored, filename: bytes
) -> None:
    dataset_id = await _dataset(client)
    before = await stored.snapshot()
    body = _body(_part(b"image", filename, PNG))
    status, answer = await raw_request(
        client, _head(dataset_id, b"multipart/form-data; boundary=B"), body
    )
    assert status == 400, answer
    assert answer["error"]["code"] == "INVALID_INPUT"
    assert "file name" in answer["error"]["message"]
    assert await stored.snapshot() == before


async def test_a_good_raw_upload_still_works(client: TestClient, stored: Stored) -> None:
    dataset_id = await _dataset(client)
    captions = _part(b"captions", None, json.dumps({"a.png": "a cat"}).encode())
    status, answer = await raw_request(
        client, _head(dataset_id, b"multipart/form-data; boundary=B"), _body(GOOD, captions)
    )
    assert status == 200, answer
    assert [a["caption"] for a in answer["added"]] == ["a cat"]
    assert (await stored.snapshot())[0] == 1
