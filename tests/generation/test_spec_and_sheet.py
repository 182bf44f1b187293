"""The generation spec (what the daemon stores, what the worker runs) and the sheet's layout."""

import pytest
from PIL import Image

from core.generation.sheet import label_of, strength_sheet
from core.generation.spec import GenerationSpec


def spec(**fields: object) -> GenerationSpec:
    base: dict[str, object] = {
        "base_model": "builtin:tiny-sd15", "prompt": "zqx", "seed": 5, "steps": 4,
        "resolution": 64,
    }  # fmt: skip
    return GenerationSpec(**{**base, **fields})  # type: ignore[arg-type]


def test_images_count_their_seeds_and_strengths() -> None:
    assert spec(count=3, strength=0.7).plan() == [(5, 0.7), (6, 0.7), (7, 0.7)]
    sheet = spec(strengths=[0.0, 0.5, 1.2])
    assert sheet.plan() == [(5, 0.0), (5, 0.5), (5, 1.2)]
    assert (sheet.images, sheet.total_steps) == (3, 12)
    assert GenerationSpec.from_dict(sheet.to_dict()) == sheet


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"strengths": [0.5]}, "strength sheet"),
        ({"strengths": [0.0, 1.0], "count": 2}, "strength sheet"),
        ({"strength": 2.5}, "strengths in 0..2"),
        ({"resolution": 60}, "multiple of 8"),
        ({"prompt": "  "}, "prompt"),
        ({"steps": 0}, "steps"),
    ],
)
def test_a_bad_spec_is_refused(fields: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        spec(**fields)
    with pytest.raises(ValueError, match="unknown GenerationSpec fields"):
        GenerationSpec.from_dict({**spec().to_dict(), "guidance": 7})


def test_the_sheet_is_one_row_of_tiles_with_their_weights_under_them() -> None:
    colours = ["red", "green", "blue", "yellow"]
    tiles = [
        (Image.new("RGB", (40, 30), colour), w)
        for colour, w in zip(colours, [0, 0.4, 1, 1.25], strict=True)
    ]
    sheet = strength_sheet(tiles)
    assert sheet.size[0] == 4 * 40 and sheet.size[1] > 30
    for column, (tile, _) in enumerate(tiles):
        assert sheet.crop((column * 40, 0, column * 40 + 40, 30)).tobytes() == tile.tobytes()
        strip = sheet.crop((column * 40, 30, column * 40 + 40, sheet.height)).convert("L")
        assert strip.getextrema()[0] < 128  # something is written there
    assert [label_of(w) for _, w in tiles] == ["0", "0.4", "1", "1.25"]
    with pytest.raises(ValueError, match="tile 1"):
        strength_sheet([(Image.new("RGB", (40, 30)), 0.0), (Image.new("RGB", (30, 30)), 1.0)])
