"""Unpacking a zip of images with caption sidecars: folders, junk, refusals and zip bombs."""

import io
import zipfile

import pytest

from bots.common import zip_import
from bots.common.schemas import Upload
from core.enums import RefusalCode
from tests.bots.conftest import png


def archive(entries: dict[str, bytes], *, name: str = "set.zip") -> Upload:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in entries.items():
            z.writestr(path, data)
    return Upload(name, out.getvalue())


def test_images_take_their_sidecars_captions_and_junk_is_skipped() -> None:
    unpacked = zip_import.unpack(
        archive(
            {
                "cats/": b"",
                "cats/cat1.png": png(1),
                "cats/cat1.txt": "\ufeffa cat on a sofa\n".encode(),
                "cats/deeper/CAT2.JPG": png(2),
                "cats/deeper/cat2.txt": b"a cat asleep",
                "cat3.webp": png(3),
                "__MACOSX/cats/._cat1.png": b"resource fork",
                ".DS_Store": b"finder",
                "cats/.hidden.png": png(4),
                "notes.pdf": b"%PDF-1.4",
                "orphan.txt": b"no picture",
            }
        )
    )
    assert [(u.filename, u.caption) for u in unpacked.uploads] == [
        ("cat1.png", "a cat on a sofa"),
        ("CAT2.JPG", "a cat asleep"),
        ("cat3.webp", None),
    ]
    assert unpacked.uploads[0].data == png(1)
    assert [(r.filename, r.code) for r in unpacked.refused] == [
        ("notes.pdf", RefusalCode.not_an_image),
        ("orphan.txt", RefusalCode.not_an_image),
    ]
    assert "not an image" in unpacked.refused[0].message
    assert "no image of the same name" in unpacked.refused[1].message


def test_the_same_name_in_two_folders_stays_two_files() -> None:
    expanded = zip_import.expand(
        [archive({"a/x.png": png(1), "b/x.png": png(2), "b/x.txt": b"second"})]
    )
    assert [(u.filename, u.caption) for u in expanded.uploads] == [
        ("x.png", None),
        ("2_x.png", "second"),
    ]


def test_a_broken_archive_is_refused_whole() -> None:
    unpacked = zip_import.unpack(Upload("set.zip", b"PK\x03\x04 not really"))
    assert unpacked.uploads == []
    assert [(r.filename, r.message) for r in unpacked.refused] == [
        ("set.zip", "not a readable zip archive")
    ]


def test_too_many_entries_are_refused_before_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zip_import, "MAX_ENTRIES", 3)
    unpacked = zip_import.unpack(archive({f"{i}.png": png(i) for i in range(4)}))
    assert unpacked.uploads == []
    assert unpacked.refused[0].code == RefusalCode.file_too_large
    assert "holds 4 entries; at most 3" in unpacked.refused[0].message


def test_a_zip_bomb_is_refused_by_its_declared_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zip_import, "MAX_TOTAL_BYTES", 2 * zip_import.MB)
    # 3 MB of zeros compress to a few kilobytes.
    bomb = archive({"a.png": bytes(3 * zip_import.MB)})
    assert len(bomb.data) < 20_000
    unpacked = zip_import.unpack(bomb)
    assert (
        unpacked.uploads == [] and "unpacks to 3 MB; at most 2 MB" in unpacked.refused[0].message
    )


def test_an_entry_past_its_bound_is_refused_whatever_its_header_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(zip_import, "MAX_ENTRY_BYTES", zip_import.MB)
    unpacked = zip_import.unpack(archive({"big.png": bytes(zip_import.MB + 1), "ok.png": png(1)}))
    assert [u.filename for u in unpacked.uploads] == ["ok.png"]
    assert [(r.filename, r.code) for r in unpacked.refused] == [
        ("big.png", RefusalCode.file_too_large)
    ]


def test_batches_stay_within_the_request_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zip_import, "BATCH_FILES", 2)
    monkeypatch.setattr(zip_import, "BATCH_BYTES", 100)
    uploads = [Upload(f"{i}.png", bytes(size)) for i, size in enumerate((10, 10, 10, 95, 200))]
    sizes = [[len(u.data) for u in batch] for batch in zip_import.batches(uploads)]
    assert sizes == [[10, 10], [10], [95], [200]]  # a single large file still goes alone
