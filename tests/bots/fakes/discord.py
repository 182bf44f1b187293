"""A fake Discord: REST under `/api/v10` and a JSON gateway on `/gateway`, on 127.0.0.1.

It speaks what discord.py expects (HELLO, READY and GUILD_CREATE after IDENTIFY, interaction
callbacks with `with_response`, exact `application/json` content type, 429 with a `Via`
header) and lets tests act as users: run slash commands, press buttons, submit modals, post
messages with attachments, and buy consumable SKUs (`tests.bots.fakes.discord_entitlements`).
Interactions are answered by Discord's rules, its 3-second window included
(`tests.bots.fakes.discord_window`).
"""

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.bots.fakes.discord_entitlements import DiscordApiError, Entitlements, EntitlementState
from tests.bots.fakes.discord_payloads import (
    APP_ID,
    BOT_ID,
    CHANNEL_ID,
    EPHEMERAL,
    GUILD_ID,
    application_payload,
    button_id,
    guild_payload,
    interaction_payload,
    json_response,
    member_payload,
    message_payload,
    now,
    read_body,
    route_shape,
    text_fields,
    text_inputs,
    user_payload,
)
from tests.bots.fakes.discord_window import Pending
from tests.bots.fakes.sent_log import SentLog


@dataclass
class Sent:
    """A message the bot created or edited, as Discord stores it."""

    how: str  # "callback", "followup", "channel", "edit"
    channel_id: int
    message_id: int
    content: str
    components: list[dict[str, Any]]
    files: list[tuple[str, bytes]]
    ephemeral: bool = False
    at: float = field(default_factory=time.monotonic)
    token: str = ""  # the interaction a callback or follow-up answers

    @classmethod
    def of(
        cls, how: str, msg: dict[str, Any], files: list[tuple[str, bytes]], token: str = ""
    ) -> "Sent":
        """A log entry of a message payload as it is now."""
        return cls(
            how,
            int(msg["channel_id"]),
            int(msg["id"]),
            msg["content"],
            msg["components"],
            files,
            bool(msg["flags"] & EPHEMERAL),
            token=token,
        )


@dataclass
class FakeDiscord(Entitlements, SentLog[Sent]):
    """State of the fake; `start()` returns (api_base, gateway_url)."""

    token: str = "discord-test-token"
    log: list[Sent] = field(default_factory=list)
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    commands: list[dict[str, Any]] = field(default_factory=list)
    modals: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[Pending] = field(default_factory=list)
    rate_limits: dict[str, list[float]] = field(default_factory=dict)
    limited: list[tuple[str, float]] = field(default_factory=list)
    dm_forbidden: set[int] = field(default_factory=set)
    downloads: list[str] = field(default_factory=list)  # attachment ids the bot fetched
    shop: EntitlementState = field(default_factory=EntitlementState)
    server: TestServer | None = None

    def __post_init__(self) -> None:
        self._ids = itertools.count(720000000000000000)
        self._seq = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._changed = asyncio.Condition()
        self.identified = asyncio.Event()
        self.users: dict[int, str] = {}
        # Each user's client language, sent as the interaction's `locale` (Discord: en-US).
        self.locales: dict[int, str] = {}

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> tuple[str, str]:
        """Serve on 127.0.0.1."""
        app = web.Application(client_max_size=100 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{id}/{name}", self._attachment)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        base = str(self.server.make_url("")).rstrip("/")
        return f"{base}/api/v10", base.replace("http://", "ws://") + "/gateway"

    async def close(self) -> None:
        """Close sockets and stop serving."""
        for ws in list(self._sockets):
            await ws.close()
        if self.server is not None:
            await self.server.close()

    # -- gateway -----------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41250}})
        try:
            async for msg in ws:
                payload = json.loads(msg.data)
                if payload["op"] == 1:
                    await ws.send_json({"op": 11})
                elif payload["op"] in (2, 6):  # IDENTIFY (or RESUME: start afresh)
                    await self._ready(ws, request)
        finally:
            self._sockets.remove(ws)
            if not self._sockets:
                self.identified.clear()
        return ws

    async def _ready(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        gateway = str(request.url.with_query(None))
        ready = {
            "v": 10,
            "user": user_payload(BOT_ID, "lorabot", bot=True),
            "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
            "session_id": "fake-session",
            "resume_gateway_url": gateway,
            "application": {"id": str(APP_ID), "flags": 0},
        }
        await self._dispatch(ws, "READY", ready)
        await self._dispatch(ws, "GUILD_CREATE", guild_payload())
        self.identified.set()

    async def _dispatch(self, ws: web.WebSocketResponse, event: str, data: Any) -> None:
        await ws.send_json({"op": 0, "t": event, "s": next(self._seq), "d": data})

    async def _broadcast(self, event: str, data: Any) -> None:
        await asyncio.wait_for(self.identified.wait(), 30)
        for ws in list(self._sockets):
            await self._dispatch(ws, event, data)

    async def _attachment(self, request: web.Request) -> web.Response:
        data = self.files.get(request.match_info["id"])
        if data is None:
            raise web.HTTPNotFound()
        self.downloads.append(request.match_info["id"])
        return web.Response(body=data, content_type="application/octet-stream")

    # -- REST --------------------------------------------------------------------------
    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        # Interaction callbacks and webhook follow-ups are authorised by the token in the URL.
        by_url = path.startswith(("/interactions/", "/webhooks/"))
        if not by_url and request.headers.get("Authorization") != f"Bot {self.token}":
            return json_response({"message": "401: Unauthorized", "code": 0}, 401)
        route = f"{request.method} {route_shape(path)}"
        if self.rate_limits.get(route):
            retry_after = self.rate_limits[route].pop(0)
            self.limited.append((route, time.monotonic()))
            body = {
                "message": "You are being rate limited.",
                "retry_after": retry_after,
                "global": False,
            }
            return json_response(body, 429, Via="1.1 google", **{"X-RateLimit-Scope": "user"})
        payload, files = await read_body(request)
        parts = path.strip("/").split("/")
        try:
            if parts[0] == "applications" and "entitlements" in parts:
                result = self.entitlement_route(request.method, parts, request.query)
            else:
                result = await self._route(request.method, parts, payload, files)
        except PermissionError as exc:
            return json_response({"message": str(exc), "code": 50007}, 403)
        except DiscordApiError as exc:
            return json_response({"message": exc.message, "code": exc.code}, exc.status)
        await self._notify()
        if result is None:
            return web.Response(status=204)
        return json_response(result)

    async def _route(
        self, method: str, parts: list[str], payload: Any, files: list[tuple[str, bytes]]
    ) -> Any:
        match (method, parts):
            case ("GET", ["users", "@me"]):
                return user_payload(BOT_ID, "lorabot", bot=True)
            case ("GET", ["users", user_id]):
                return user_payload(int(user_id), self.users.get(int(user_id), f"user{user_id}"))
            case ("GET", ["oauth2", "applications", "@me"]):
                return application_payload()
            case ("GET", ["gateway", "bot"]):
                url = str(self.server.make_url("/gateway")).replace("http://", "ws://")  # type: ignore[union-attr]
                limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
                return {"url": url, "shards": 1, "session_start_limit": limit}
            case ("PUT", ["applications", _, *rest]):
                return self._sync(payload, guild=rest[1] if len(rest) > 2 else None)
            case ("POST", ["interactions", interaction_id, token, "callback"]):
                return self._callback(int(interaction_id), token, payload, files)
            case ("POST", ["webhooks", _, token]):
                return self._followup(token, payload, files)
            case ("PATCH", ["webhooks", _, token, "messages", message_id]):
                return self._edit_webhook_message(token, message_id, payload, files)
            case ("GET", ["webhooks", _, token, "messages", message_id]):
                return self._webhook_message(token, message_id)
            case ("POST", ["users", "@me", "channels"]):
                user_id = int(payload["recipient_id"])
                recipient = user_payload(user_id, f"user{user_id}")
                return {"id": str(user_id + 1), "type": 1, "recipients": [recipient]}
            case ("POST", ["channels", channel_id, "messages"]):
                if int(channel_id) - 1 in self.dm_forbidden:
                    raise PermissionError("Cannot send messages to this user")
                return self._create("channel", int(channel_id), payload, files)
            case ("PATCH", ["channels", _, "messages", message_id]):
                return self._edit(self.messages[int(message_id)], payload, files)
        raise web.HTTPNotFound(text=f"fake discord has no {method} /{'/'.join(parts)}")

    def _sync(self, payload: list[dict[str, Any]], guild: str | None) -> list[dict[str, Any]]:
        self.commands = [
            {
                **c,
                "id": str(next(self._ids)),
                "application_id": str(APP_ID),
                "version": "1",
                "guild_id": guild,
                "default_member_permissions": None,
                "dm_permission": True,
                "nsfw": False,
            }
            for c in payload
        ]
        return self.commands

    # -- messages ----------------------------------------------------------------------
    def _create(
        self,
        how: str,
        channel_id: int,
        payload: dict[str, Any],
        files: list[tuple[str, bytes]],
        token: str = "",
    ) -> dict[str, Any]:
        message_id = next(self._ids)
        attachments = [self._stored(name, data) for name, data in files]
        msg = message_payload(
            message_id,
            channel_id,
            user_payload(BOT_ID, "lorabot", bot=True),
            payload.get("content") or "",
            attachments,
            flags=int(payload.get("flags") or 0),
            components=payload.get("components") or [],
        )
        self.messages[message_id] = msg
        self.log.append(Sent.of(how, msg, files, token))
        return msg

    def _stored(self, name: str, data: bytes) -> dict[str, Any]:
        attachment_id = str(next(self._ids))
        self.files[attachment_id] = data
        return self._attachment_payload(attachment_id, name, len(data))

    def _edit(
        self, msg: dict[str, Any], payload: dict[str, Any], files: list[tuple[str, bytes]]
    ) -> dict[str, Any]:
        if "content" in payload:
            msg["content"] = payload["content"] or ""
        if "components" in payload:
            msg["components"] = payload["components"] or []
        if "attachments" in payload:
            # As Discord does: the list is what the message keeps; existing attachments are
            # named by their id, new ones by the index of their file part.
            kept = {a["id"]: a for a in msg["attachments"]}
            msg["attachments"] = [
                kept[str(a["id"])] if str(a["id"]) in kept else self._stored(*files[a["id"]])
                for a in payload["attachments"]
            ]
        msg["edited_timestamp"] = now()
        self.log.append(Sent.of("edit", msg, files))
        return msg

    def _webhook_message(self, token: str, message_id: str) -> dict[str, Any]:
        interaction = self._interaction(token)
        interaction.webhook()
        if message_id != "@original":
            return self.messages[int(message_id)]
        if interaction.original is None:
            raise DiscordApiError(404, "Unknown Message", 10008)
        return self.messages[interaction.original]

    def _edit_webhook_message(
        self, token: str, message_id: str, payload: dict[str, Any], files: list[tuple[str, bytes]]
    ) -> dict[str, Any]:
        interaction = self._interaction(token)
        interaction.webhook()
        if message_id == "@original" and interaction.fills_loading():
            return self._fill_loading(interaction, payload, files)
        return self._edit(self._webhook_message(token, message_id), payload, files)

    def _fill_loading(
        self, interaction: Pending, payload: dict[str, Any], files: list[tuple[str, bytes]]
    ) -> dict[str, Any]:
        """The "thinking…" message becomes the answer, as visible as the deferral chose."""
        flags = (int(payload.get("flags") or 0) & ~EPHEMERAL) | int(interaction.loading_flags or 0)
        payload = {**payload, "flags": flags}
        msg = self._create("followup", CHANNEL_ID, payload, files, interaction.token)
        interaction.original = int(msg["id"])
        return msg

    def _interaction(self, token: str) -> Pending:
        for cb in self.callbacks:
            if cb.token == token:
                return cb
        raise DiscordApiError(404, "Unknown Webhook", 10015)

    def _callback(
        self,
        interaction_id: int,
        token: str,
        payload: dict[str, Any],
        files: list[tuple[str, bytes]],
    ) -> dict[str, Any]:
        interaction = self._interaction(token)
        kind, data = payload["type"], payload.get("data") or {}
        interaction.respond(payload)
        out: dict[str, Any] = {
            "interaction": {"id": str(interaction_id), "type": interaction.type}
        }
        if kind == 4:  # CHANNEL_MESSAGE_WITH_SOURCE
            msg = self._create("callback", CHANNEL_ID, data, files, token)
            interaction.original = int(msg["id"])
            out["resource"] = {"type": 4, "message": msg}
            out["interaction"]["response_message_id"] = msg["id"]
        elif kind == 7:  # UPDATE_MESSAGE
            assert interaction.message_id is not None
            msg = self._edit(self.messages[interaction.message_id], data, files)
            out["resource"] = {"type": 7, "message": msg}
        elif kind == 9:  # MODAL
            self.modals.append({**data, "token": token})
        elif kind == 5:
            out["interaction"]["response_message_loading"] = True
        return out

    def _followup(
        self, token: str, payload: dict[str, Any], files: list[tuple[str, bytes]]
    ) -> dict[str, Any]:
        interaction = self._interaction(token)
        interaction.webhook()
        if interaction.fills_loading():
            return self._fill_loading(interaction, payload, files)
        return self._create("followup", CHANNEL_ID, payload, files, token)

    def _attachment_payload(self, attachment_id: str, name: str, size: int) -> dict[str, Any]:
        url = str(self.server.make_url(f"/attachments/{attachment_id}/{name}"))  # type: ignore[union-attr]
        return {
            "id": attachment_id,
            "filename": name,
            "size": size,
            "url": url,
            "proxy_url": url,
            "content_type": "image/png",
        }

    # -- acting as users ---------------------------------------------------------------
    def _member(self, user_id: int) -> dict[str, Any]:
        return member_payload(user_id, self.users.setdefault(user_id, f"user{user_id}"))

    def _base_interaction(
        self, kind: int, user_id: int, data: dict[str, Any], message: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        interaction_id = next(self._ids)
        token = f"itoken{interaction_id}"
        payload = interaction_payload(interaction_id, token, kind, self._member(user_id), data)
        payload["locale"] = self.locales.get(user_id, payload["locale"])
        if message is not None:
            payload["message"] = message
        message_id = None if message is None else int(message["id"])
        self.callbacks.append(Pending(token, kind, message_id))
        return payload

    def upload(self, name: str, data: bytes) -> dict[str, Any]:
        """Make an attachment as if a user had uploaded it; returns its payload."""
        attachment_id = str(next(self._ids))
        self.files[attachment_id] = data
        return self._attachment_payload(attachment_id, name, len(data))

    async def slash(
        self,
        user_id: int,
        group: str,
        sub: str = "",
        options: dict[str, Any] | None = None,
        attachments: dict[str, tuple[str, bytes]] | None = None,
    ) -> str:
        """The user runs `/<group> <sub>` (or the top-level `/<group>` when `sub` is empty)
        with options (attachments by option name)."""
        opts = [{"name": k, "type": 3, "value": v} for k, v in (options or {}).items()]
        resolved: dict[str, Any] = {}
        for option, (name, data) in (attachments or {}).items():
            att = self.upload(name, data)
            resolved[att["id"]] = att
            opts.append({"name": option, "type": 11, "value": att["id"]})
        command = next(c for c in self.commands if c["name"] == group)
        data = {
            "id": command["id"],
            "name": group,
            "type": 1,
            "options": [{"name": sub, "type": 1, "options": opts}] if sub else opts,
        }
        if resolved:
            data["resolved"] = {"attachments": resolved}
        payload = self._base_interaction(2, user_id, data)
        await self._broadcast("INTERACTION_CREATE", payload)
        return payload["token"]

    async def press(self, user_id: int, sent: Sent, label_part: str, *, times: int = 1) -> str:
        """The user clicks the button whose label contains `label_part`; returns its custom_id."""
        msg = self.messages[sent.message_id]
        custom_id = button_id(msg, label_part)
        for _ in range(times):
            data = {"custom_id": custom_id, "component_type": 2}
            payload = self._base_interaction(3, user_id, data, msg)
            await self._broadcast("INTERACTION_CREATE", payload)
        return custom_id

    def button_message(self, custom_ids: list[str]) -> Sent:
        """A message the bot sent earlier (before a restart, say) with these buttons."""
        rows = [
            {"type": 1, "components": [{"type": 2, "style": 2, "label": cid, "custom_id": cid}]}
            for cid in custom_ids
        ]
        self._create("channel", CHANNEL_ID, {"content": "earlier", "components": rows}, [])
        return self.log[-1]

    async def submit_modal(self, user_id: int, *values: str) -> str:
        """The user fills the last modal's text fields, in order, and submits it; returns the
        submission's interaction token."""
        modal = self.modals[-1]
        field_ids = text_inputs(modal["components"])
        assert len(values) <= len(field_ids), f"the modal has {len(field_ids)} fields"
        components = [
            {"type": 1, "components": [{"type": 4, "custom_id": field_id, "value": value}]}
            for field_id, value in zip(field_ids, values, strict=False)
        ]
        data = {"custom_id": modal["custom_id"], "components": components}
        # A modal opened from a button carries that button's message, as Discord sends it.
        source = self._interaction(modal["token"]).message_id
        message = None if source is None else self.messages[source]
        payload = self._base_interaction(5, user_id, data, message)
        await self._broadcast("INTERACTION_CREATE", payload)
        return str(payload["token"])

    async def fill_modal(self, user_id: int, answers: dict[str, str]) -> None:
        """The user types into the last modal's fields whose label contains a key of `answers`
        and submits it; the other fields keep their prefilled values, as Discord sends them."""
        fields = text_fields(self.modals[-1]["components"])
        labels = [field.get("label") or "" for field in fields]
        for part in answers:
            assert any(part in label for label in labels), f"no field {part!r} in {labels}"
        values = []
        for text_input, label in zip(fields, labels, strict=True):
            typed = [value for part, value in answers.items() if part in label]
            values.append(typed[0] if typed else text_input.get("value") or "")
        await self.submit_modal(user_id, *values)

    async def post(
        self, user_id: int, content: str, files: list[tuple[str, bytes]] | None = None
    ) -> None:
        """The user posts a message (with attachments) in the channel."""
        attachments = [self.upload(name, data) for name, data in files or []]
        member = {k: v for k, v in self._member(user_id).items() if k != "user"}
        author = user_payload(user_id, f"user{user_id}")
        msg = message_payload(
            next(self._ids),
            CHANNEL_ID,
            author,
            content,
            attachments,
            guild_id=str(GUILD_ID),
            member=member,
        )
        await self._broadcast("MESSAGE_CREATE", msg)

    # -- waiting for the bot -----------------------------------------------------------
    def describe(self, sent: Sent) -> str:
        return f"{sent.how}: {sent.content[:80]!r}"

    async def wait_text(self, part: str, timeout: float = 30.0, *, after: int = 0) -> Sent:
        """The first message or edit whose content contains `part`."""
        part = str(part)  # a text of `bots.common.texts` is lazy: its current translation
        return await self.wait_for(lambda s: part in s.content, timeout, after=after)

    async def wait_modal(self, count: int, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until the bot has opened `count` modals; the last one."""
        deadline = time.monotonic() + timeout
        while len(self.modals) < count:
            if time.monotonic() > deadline:
                raise AssertionError("no modal was opened")
            await asyncio.sleep(0.02)
        return self.modals[-1]
