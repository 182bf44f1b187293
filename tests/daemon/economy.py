"""An economy file for the purchase and royalty suites: packs on sale, one withdrawn, SKUs."""

from pathlib import Path

ECONOMY = """
[packs.small]
title = "Small"
points = 100
stars = 10
discord_sku_id = "1100000000000000001"

[packs.big]
title = "Big"
points = 1000
stars = 90
discord_sku_id = "1100000000000000002"

[packs.old]
title = "Old"
points = 50
stars = 5
enabled = false
discord_sku_id = "1100000000000000003"

[market]
royalty_share = 0.5
quote_ttl_seconds = 300
low_balance_points = 50
"""


def write_economy(directory: Path, text: str = ECONOMY) -> Path:
    """The economy file in `directory` (the daemon validates it on start)."""
    path = directory / "economy.toml"
    path.write_text(text, encoding="utf-8")
    return path
