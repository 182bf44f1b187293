"""The offerings registry: the bundled file, cost arithmetic, and clear errors for bad files."""

from pathlib import Path

import pytest

from core.config_files import ConfigFileError
from core.errors import InvalidInput, NotFound
from core.offerings import OfferingRegistry, merged_params
from core.settings import BUNDLED_OFFERINGS
from tests.conftest import run_lorabot


def test_bundled_offerings() -> None:
    registry = OfferingRegistry.load(BUNDLED_OFFERINGS)
    assert [o.id for o in registry.all()] == [
        "tiny-lora",
        "sd15-lora",
        "sdxl-lora",
        "flux-lora",
        "tiny-flux-lora",
    ]
    tiny = registry.get("tiny-lora")
    assert tiny.enabled and tiny.base_model == "builtin:tiny-sd15" and tiny.spec_family == "sd15"
    assert tiny.min_images == 4 and tiny.bounds.steps.max >= 1000
    assert set(tiny.presets) == {"fast", "balanced", "quality"}
    assert registry.get("flux-lora").enabled is True
    assert registry.get("tiny-flux-lora").spec_family == "flux"
    assert all(o.generation is not None for o in registry.all())  # every LoRA here generates
    with pytest.raises(NotFound, match="sd15-lora"):
        registry.get("sd3")


def test_cost_is_integer_and_rounds_up() -> None:
    tiny = OfferingRegistry.load(BUNDLED_OFFERINGS).get("tiny-lora")
    params = merged_params(tiny, "fast", {"steps": 41})
    assert tiny.estimated_seconds(params) == pytest.approx(7.05, abs=0.051)
    assert tiny.cost(params) == 8  # 7.05 GPU-seconds at 1 point each: rounded up
    assert tiny.cost(merged_params(tiny, "fast", {"steps": 20})) == 6  # exactly 6.0
    doubled = merged_params(tiny, "fast", {"steps": 31, "batch_size": 2, "resolution": 128})
    assert tiny.estimated_seconds(doubled) == pytest.approx(5 + 31 * 0.05 * 2 * 4, abs=0.1)
    with pytest.raises(InvalidInput, match="gamma"):
        merged_params(tiny, "fast", {"gamma": 3})
    with pytest.raises(NotFound, match="UNKNOWN|choose"):
        merged_params(tiny, "ultra", {})


def test_text_encoder_training_is_offered_for_sd15_and_sdxl_and_priced_as_its_own_part() -> None:
    registry = OfferingRegistry.load(BUNDLED_OFFERINGS)
    for offering_id in ("sd15-lora", "sdxl-lora"):
        offering = registry.get(offering_id)
        quality = merged_params(offering, "quality", {})
        assert quality["train_text_encoder"] and quality["text_encoder_lr"] == 5e-5
        unet_only = merged_params(offering, "quality", {"train_text_encoder": False})
        assert not offering.bounds.violations(quality)
        share = offering.pricing.text_encoder_step_share
        extra = 2500 * offering.pricing.seconds_per_step * share
        assert offering.estimated_seconds(quality) == pytest.approx(
            offering.estimated_seconds(unet_only) + extra, abs=0.1
        )
        parts = {p.part: p.points for p in offering.breakdown(quality).items}
        assert set(parts) == {"gpu_time", "overhead", "text_encoder"}
        assert parts["text_encoder"] > 0 and offering.cost(quality) > offering.cost(unet_only)
        assert offering.vram_gb(quality) > offering.vram_gb(unet_only)
    tiny = registry.get("tiny-lora")
    asked = merged_params(tiny, "fast", {"train_text_encoder": True, "text_encoder_lr": 0.5})
    assert tiny.bounds.violations(asked) == ["text_encoder_lr=0.5 is outside 1e-06..0.01"]
    flux = registry.get("flux-lora")
    refused = merged_params(flux, "fast", {"train_text_encoder": True})
    assert flux.bounds.violations(refused) == ["train_text_encoder is not offered here"]


BROKEN = {
    "not toml": ("[offerings.x\n", "not valid TOML"),
    "missing field": (
        '[offerings.x]\ntitle = "X"\nfamily = "sd15"\n',
        "offerings.x.base_model: Field required",
    ),
    "preset out of bounds": (
        BUNDLED_OFFERINGS.read_text().replace("fast = { steps = 30,", "fast = { steps = 9000,", 1),
        "preset 'fast' breaks the bounds: steps=9000",
    ),
    "unknown family": (
        BUNDLED_OFFERINGS.read_text().replace('family = "sdxl"', 'family = "sd3"', 1),
        "offerings.sdxl-lora.family",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_bad_file_names_the_problem(tmp_path: Path, case: str) -> None:
    text, expected = BROKEN[case]
    path = tmp_path / "offerings.toml"
    path.write_text(text)
    with pytest.raises(ConfigFileError) as caught:
        OfferingRegistry.load(path)
    assert expected in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_file() -> None:
    with pytest.raises(ConfigFileError, match="cannot read"):
        OfferingRegistry.load(Path("/nonexistent/offerings.toml"))


def test_daemon_refuses_to_start_with_a_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "offerings.toml"
    path.write_text('[offerings.x]\ntitle = "X"\n')
    env = {
        "LORABOT_DATA_DIR": str(tmp_path / "var"),
        "LORABOT_OFFERINGS_FILE": str(path),
        "LORABOT_PORT": "0",
    }
    out = run_lorabot("daemon", env=env, timeout=60)
    assert out.returncode == 2
    assert "offerings.x.family: Field required" in out.stderr
