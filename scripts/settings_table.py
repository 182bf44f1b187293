"""Print the README's configuration table from the settings classes."""

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from bots.common.settings import BotSettings
from core.settings import Settings


def default_text(name: str, field: FieldInfo) -> str:
    if name in ("offerings_file", "economy_file"):
        return f"bundled `core/{name.removesuffix('_file')}.toml`"
    return "unset" if field.default is None else f"`{field.default}`"


def main() -> None:
    users: dict[str, list[str]] = {}
    fields: dict[str, FieldInfo] = {}
    sources: tuple[tuple[type[BaseSettings], str], ...] = (
        (Settings, "daemon"),
        (BotSettings, "bots"),
    )
    for settings, used_by in sources:
        for name, field in settings.model_fields.items():
            users.setdefault(name, []).append(used_by)
            fields.setdefault(name, field)
    print("| variable | used by | default | meaning |")
    print("| --- | --- | --- | --- |")
    for name, field in fields.items():
        cells = [f"`LORABOT_{name.upper()}`", ", ".join(users[name])]
        cells += [default_text(name, field), field.description or ""]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
