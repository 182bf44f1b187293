"""A fake Telegram Bot API server: `POST /bot<token>/<Method>`, long-polled updates, files.

It keeps what a Telegram client would see (messages with their current text and keyboard) and
lets tests act as users: send texts, photos, albums and files, press inline buttons, and pay
invoices in Telegram Stars (`tests.bots.fakes.telegram_stars`). Parameters arrive as a form,
multipart or JSON, as the real Bot API takes them.
"""

import asyncio
import contextlib
import io
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from PIL import Image

from tests.bots.fakes.sent_log import SentLog
from tests.bots.fakes.telegram_stars import BotApiError, StarsPayments, StarsState
from tests.bots.fakes.telegram_webhook import WebhookDelivery, WebhookState

BOT_ID = 999000
# getFile serves files up to 20 MB; a larger one is answered "file is too big".
DOWNLOAD_LIMIT = 20 * 1024 * 1024
# What Telegram delivers while `allowed_updates` is empty: all but the opt-in kinds
# (chat_member, message_reaction, message_reaction_count).
DEFAULT_UPDATES = [
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
]


@dataclass
class Sent:
    """One call of the bot that created or changed a message."""

    method: str
    chat_id: int
    message_id: int
    text: str = ""
    markup: dict[str, Any] | None = None
    filename: str = ""
    data: bytes = b""
    at: float = field(default_factory=time.monotonic)


@dataclass
class FakeTelegram(StarsPayments, WebhookDelivery, SentLog[Sent]):
    """State of the fake server; create with `start()`, stop with `close()`."""

    token: str = "123:TEST"
    updates: list[dict[str, Any]] = field(default_factory=list)
    log: list[Sent] = field(default_factory=list)
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    answers: list[dict[str, Any]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    rate_limits: dict[str, list[int]] = field(default_factory=dict)
    limited: list[tuple[str, float]] = field(default_factory=list)
    stars: StarsState = field(default_factory=StarsState)
    webhook: WebhookState = field(default_factory=WebhookState)
    # The update types `getUpdates` asked for (kept until changed, as Telegram does).
    allowed_updates: list[str] = field(default_factory=list)
    # Each user's app language, sent as `from.language_code` (Telegram omits it when unknown).
    language_codes: dict[int, str] = field(default_factory=dict)
    # The command menus set with setMyCommands, by `language_code` ("" for everyone else).
    command_menus: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    server: TestServer | None = None

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._changed = asyncio.Condition()

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> str:
        """Serve on 127.0.0.1; return the base URL for `TelegramAPIServer.from_base`."""
        app = web.Application(client_max_size=100 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return str(self.server.make_url("")).rstrip("/")

    async def close(self) -> None:
        """Stop serving (and delivering to a webhook)."""
        await self._stop_delivery()
        if self.server is not None:
            await self.server.close()

    # -- the Bot API -------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        self.calls.append(method)
        params = await _params(request)
        if self.rate_limits.get(method):
            retry_after = self.rate_limits[method].pop(0)
            self.limited.append((method, time.monotonic()))
            return _error(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None:
            return _error(404, f"Not Found: method {method}")
        try:
            result = await handler(params)
        except BotApiError as exc:
            return _error(exc.status, exc.description)
        await self._notify()
        return web.json_response({"ok": True, "result": result})

    async def _file(self, request: web.Request) -> web.Response:
        data = self.files.get(request.match_info["path"])
        if data is None:
            raise web.HTTPNotFound()
        return web.Response(body=data)

    async def _m_getme(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "lorabot", "username": "lora_bot"}

    async def _m_setmycommands(self, p: dict[str, Any]) -> bool:
        commands = p["commands"]
        menu = json.loads(commands) if isinstance(commands, str) else commands
        self.command_menus[p.get("language_code") or ""] = menu
        return True

    async def _m_answercallbackquery(self, p: dict[str, Any]) -> bool:
        self.answers.append(dict(p))
        return True

    async def _m_getupdates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        self._refuse_get_updates()
        offset = int(p.get("offset") or 0)
        deadline = time.monotonic() + float(p.get("timeout") or 0)
        if p.get("allowed_updates") is not None:
            allowed = p["allowed_updates"]
            self.allowed_updates = json.loads(allowed) if isinstance(allowed, str) else allowed
        # As Telegram does: asking from `offset` confirms (forgets) every update before it,
        # and updates of a type the bot did not ask for are never delivered.
        self.updates = [u for u in self.updates if u["update_id"] >= offset and self._wanted(u)]
        async with self._changed:
            while True:
                self._refuse_get_updates(waiting=True)
                pending = [u for u in self.updates if u["update_id"] >= offset]
                left = deadline - time.monotonic()
                if pending or left <= 0:
                    return pending
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), left)

    def _wanted(self, update: dict[str, Any]) -> bool:
        kinds = self.allowed_updates or DEFAULT_UPDATES
        return any(kind in update for kind in kinds)

    async def _m_getfile(self, p: dict[str, Any]) -> dict[str, Any]:
        file_id = p["file_id"]
        if len(self.files[file_id]) > DOWNLOAD_LIMIT:
            raise BotApiError(400, "Bad Request: file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_size": len(self.files[file_id]),
            "file_path": file_id,
        }

    def _store(self, method: str, chat_id: int, message: dict[str, Any], **extra: Any) -> None:
        self.messages[(chat_id, message["message_id"])] = message
        self.log.append(
            Sent(
                method,
                chat_id,
                message["message_id"],
                message.get("text") or message.get("caption") or "",
                message.get("reply_markup"),
                **extra,
            )
        )

    def _message(self, chat_id: int, **fields: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "lorabot"},
            **fields,
        }

    async def _m_sendmessage(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(p["chat_id"])
        msg = self._message(chat_id, text=p["text"], **_markup(p))
        self._store("sendMessage", chat_id, msg)
        return msg

    async def _m_editmessagetext(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id, message_id = int(p["chat_id"]), int(p["message_id"])
        msg = self.messages[(chat_id, message_id)]
        if msg.get("text") == p["text"] and msg.get("reply_markup") == _markup(p).get(
            "reply_markup"
        ):
            # As the Bot API answers an edit that changes nothing.
            raise BotApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        msg["text"] = p["text"]
        msg.pop("reply_markup", None)
        msg.update(_markup(p))
        self._store("editMessageText", chat_id, msg)
        return msg

    def _attached(self, p: dict[str, Any], key: str) -> tuple[str, bytes]:
        value = p[key]
        if isinstance(value, str) and value.startswith("attach://"):
            value = p[value.removeprefix("attach://")]
        return value.filename, value.file.read()

    async def _m_senddocument(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(p["chat_id"])
        name, data = self._attached(p, "document")
        doc = {"file_id": f"d{next(self._ids)}", "file_unique_id": "u", "file_name": name}
        msg = self._message(chat_id, document=doc, caption=p.get("caption"), **_markup(p))
        self._store("sendDocument", chat_id, msg, filename=name, data=data)
        return msg

    def _photo_sizes(self, data: bytes) -> list[dict[str, Any]]:
        width, height = Image.open(io.BytesIO(data)).size
        file_id = f"p{next(self._ids)}"
        return [{"file_id": file_id, "file_unique_id": file_id, "width": width, "height": height}]

    async def _m_sendphoto(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(p["chat_id"])
        name, data = self._attached(p, "photo")
        photo = self._photo_sizes(data)
        msg = self._message(chat_id, photo=photo, caption=p.get("caption"), **_markup(p))
        self._store("sendPhoto", chat_id, msg, filename=name, data=data)
        return msg

    async def _m_sendmediagroup(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        chat_id = int(p["chat_id"])
        items = json.loads(p["media"])
        if not 2 <= len(items) <= 10:
            raise BotApiError(400, "Bad Request: wrong number of media in the album")
        group, out = f"g{next(self._ids)}", []
        for item in items:
            name, data = self._attached({**p, "x": item["media"]}, "x")
            if item["type"] == "photo":
                kind, media = "sendPhoto", {"photo": self._photo_sizes(data)}
            else:
                kind = "sendDocument"
                media = {"document": {"file_id": f"d{next(self._ids)}", "file_name": name}}
            msg = self._message(
                chat_id, caption=item.get("caption"), media_group_id=group, **media
            )
            self._store(kind, chat_id, msg, filename=name, data=data)
            out.append(msg)
        return out

    async def _m_editmessagemedia(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id, message_id = int(p["chat_id"]), int(p["message_id"])
        msg = self.messages.get((chat_id, message_id))
        if msg is None:
            raise BotApiError(400, "Bad Request: message to edit not found")
        media = json.loads(p["media"])
        if media["type"] != "photo" or "photo" not in msg:
            raise BotApiError(400, "Bad Request: there is no media in the message to edit")
        name, data = self._attached({**p, "x": media["media"]}, "x")
        msg["photo"] = self._photo_sizes(data)
        msg["caption"] = media.get("caption")
        msg.pop("reply_markup", None)
        msg.update(_markup(p))
        msg["edit_date"] = int(time.time())
        self._store("editMessageMedia", chat_id, msg, filename=name, data=data)
        return msg

    # -- acting as users ---------------------------------------------------------------
    def _push(self, update: dict[str, Any], *, times: int = 1) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **update}
        self.updates.extend([update] * times)  # times=2: a redelivered update, same id
        asyncio.get_running_loop().create_task(self._notify())
        return update

    def _from(self, user_id: int) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"}
        if user_id in self.language_codes:
            user["language_code"] = self.language_codes[user_id]
        return user

    def _user_message(self, user_id: int, **fields: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": self._from(user_id),
            **fields,
        }

    def send_text(self, user_id: int, text: str) -> None:
        """The user types a message (commands included)."""
        entities = []
        if text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        self._push({"message": self._user_message(user_id, text=text, entities=entities)})

    def _file_id(self, data: bytes) -> str:
        file_id = f"f{next(self._ids)}"
        self.files[file_id] = data
        return file_id

    def send_photo(
        self, user_id: int, data: bytes, caption: str | None = None, album: str | None = None
    ) -> None:
        """The user sends a photo (optionally as part of an album, `album` = media group)."""
        width, height = Image.open(io.BytesIO(data)).size
        file_id = self._file_id(data)
        size = {"file_id": file_id, "file_unique_id": file_id, "width": width, "height": height}
        fields: dict[str, Any] = {"photo": [size]}
        if caption:
            fields["caption"] = caption
        if album:
            fields["media_group_id"] = album
        self._push({"message": self._user_message(user_id, **fields)})

    def send_document(
        self, user_id: int, data: bytes, filename: str, mime_type: str, caption: str | None = None
    ) -> None:
        """The user sends a file."""
        file_id = self._file_id(data)
        doc = {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_name": filename,
            "mime_type": mime_type,
            "file_size": len(data),
        }
        fields: dict[str, Any] = {"document": doc}
        if caption:
            fields["caption"] = caption
        self._push({"message": self._user_message(user_id, **fields)})

    def press(self, user_id: int, sent: Sent, label_part: str, *, times: int = 1) -> str:
        """The user presses the button whose label contains `label_part`; returns its data."""
        msg = self.messages[(sent.chat_id, sent.message_id)]
        data = button_data(msg, label_part)
        query = {
            "id": str(next(self._ids)),
            "from": self._from(user_id),
            "chat_instance": "ci",
            "message": msg,
            "data": data,
        }
        self._push({"callback_query": query}, times=times)
        return data

    # -- waiting for the bot -----------------------------------------------------------
    def describe(self, sent: Sent) -> str:
        return f"{sent.method}: {sent.text[:80]!r}"

    async def wait_text(self, part: str, timeout: float = 30.0, *, after: int = 0) -> Sent:
        """The first message or edit whose text contains `part`."""
        part = str(part)  # a text of `bots.common.texts` is lazy: its current translation
        return await self.wait_for(lambda s: part in s.text, timeout, after=after)

    def current(self, sent: Sent) -> dict[str, Any]:
        """The message as it looks now (after edits)."""
        return self.messages[(sent.chat_id, sent.message_id)]


def button_data(message: dict[str, Any], label_part: str) -> str:
    """The callback data of the message's button whose label contains `label_part`."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    for row in rows:
        for button in row:
            if str(label_part) in button["text"]:
                return button["callback_data"]
    labels = [b["text"] for row in rows for b in row]
    raise AssertionError(f"no button with {label_part!r}; buttons: {labels}")


async def _params(request: web.Request) -> dict[str, Any]:
    """A method's parameters from the query string and a form, multipart or JSON body."""
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        params.update(await request.json())
    else:
        params.update((await request.post()).items())
    return params


def _markup(p: dict[str, Any]) -> dict[str, Any]:
    raw = p.get("reply_markup")
    if not raw:
        return {}
    return {"reply_markup": json.loads(raw) if isinstance(raw, str) else raw}


def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)
