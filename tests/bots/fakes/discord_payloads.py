"""Payload builders and wire helpers of the fake Discord (shapes discord.py parses)."""

import json
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

APP_ID = 710000000000000001
BOT_ID = 710000000000000002
GUILD_ID = 710000000000000003
CHANNEL_ID = 710000000000000004
EPHEMERAL = 64


def json_response(data: Any, status: int = 200, **headers: str) -> web.Response:
    # discord.py only parses JSON when the content type is exactly `application/json`.
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **headers},
    )


def user_payload(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
        "bot": bot,
    }


def now() -> str:
    return datetime.now(UTC).isoformat()


def button_id(message: dict[str, Any], label_part: str) -> str:
    """The custom_id of the message's button whose label contains `label_part`."""
    labels = []
    for row in message.get("components") or []:
        for c in row.get("components", []):
            labels.append(c.get("label"))
            if c.get("type") == 2 and str(label_part) in (c.get("label") or ""):
                return c["custom_id"]
    raise AssertionError(f"no button with {label_part!r}; buttons: {labels}")


def text_inputs(components: list[dict[str, Any]]) -> list[str]:
    return [field["custom_id"] for field in text_fields(components)]


def text_fields(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The text inputs of a modal (in action rows or labels), in order."""
    found = []
    for c in components:
        if c.get("type") == 4:
            found.append(c)
        found += text_fields(c.get("components") or [])
        if isinstance(c.get("component"), dict):
            found += text_fields([c["component"]])
    return found


def route_shape(path: str) -> str:
    """`/channels/123/messages` → `/channels/{id}/messages` (the key of a rate limit)."""
    return "/".join("{id}" if p.isdigit() else p for p in path.split("/"))


async def read_body(request: web.Request) -> tuple[Any, list[tuple[str, bytes]]]:
    if not request.body_exists:
        return {}, []
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        payload = json.loads(str(form["payload_json"]))
        files = [(v.filename, v.file.read()) for k, v in form.items() if k.startswith("files[")]
        return payload, files
    return await request.json(), []


def guild_payload() -> dict[str, Any]:
    return {
        "id": str(GUILD_ID),
        "name": "Test guild",
        "icon": None,
        "owner_id": "1",
        "features": [],
        "emojis": [],
        "stickers": [],
        "roles": [
            {
                "id": str(GUILD_ID),
                "name": "@everyone",
                "permissions": "2147483647",
                "position": 0,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
                "flags": 0,
            }
        ],
        "channels": [
            {
                "id": str(CHANNEL_ID),
                "type": 0,
                "guild_id": str(GUILD_ID),
                "name": "general",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
            }
        ],
        "members": [],
        "threads": [],
        "member_count": 1,
        "large": False,
        "unavailable": False,
        "joined_at": now(),
    }


def application_payload() -> dict[str, Any]:
    return {
        "id": str(APP_ID),
        "name": "lorabot",
        "icon": None,
        "description": "",
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": user_payload(1, "owner"),
        "verify_key": "0" * 64,
        "flags": 0,
        "team": None,
        "rpc_origins": [],
    }


def member_payload(user_id: int, name: str) -> dict[str, Any]:
    """A guild member with every permission."""
    return {
        "user": user_payload(user_id, name),
        "roles": [],
        "joined_at": now(),
        "deaf": False,
        "mute": False,
        "flags": 0,
        "permissions": "2147483647",
    }


def message_payload(
    message_id: int,
    channel_id: int,
    author: dict[str, Any],
    content: str,
    attachments: list[dict[str, Any]],
    **extra: Any,
) -> dict[str, Any]:
    """A message as the REST API and the gateway send it."""
    return {
        "id": str(message_id),
        "channel_id": str(channel_id),
        "author": author,
        "content": content,
        "timestamp": now(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": attachments,
        "embeds": [],
        "pinned": False,
        "type": 0,
        "flags": 0,
        "components": [],
        **extra,
    }


def interaction_payload(
    interaction_id: int, token: str, kind: int, member: dict[str, Any], data: dict[str, Any]
) -> dict[str, Any]:
    """An INTERACTION_CREATE in the test guild's channel (with `attachment_size_limit`)."""
    return {
        "id": str(interaction_id),
        "application_id": str(APP_ID),
        "type": kind,
        "data": data,
        "guild_id": str(GUILD_ID),
        "channel_id": str(CHANNEL_ID),
        "channel": {"id": str(CHANNEL_ID), "type": 0, "guild_id": str(GUILD_ID)},
        "member": member,
        "token": token,
        "version": 1,
        "app_permissions": "2147483647",
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(GUILD_ID)},
        "context": 0,
        "attachment_size_limit": 25 * 1024 * 1024,
    }


# Discord's EntitlementType: PURCHASE (bought with money); TEST_MODE_PURCHASE is 4.
PURCHASE = 1


def entitlement_payload(entitlement_id: int, sku_id: str, user_id: int) -> dict[str, Any]:
    """A one-time purchase of a consumable SKU, as the gateway and the REST API send it."""
    return {
        "id": str(entitlement_id),
        "sku_id": sku_id,
        "application_id": str(APP_ID),
        "user_id": str(user_id),
        "type": PURCHASE,
        "deleted": False,
        "consumed": False,
        "starts_at": None,
        "ends_at": None,
        "gift_code_flags": 0,
        "promotion_id": None,
    }
