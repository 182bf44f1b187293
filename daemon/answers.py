"""How a route answers: one response model, serialised by pydantic straight to JSON text; or a
stored file, streamed from the blob store."""

from aiohttp import web
from pydantic import BaseModel

from core.blobs import BlobStore


def json_answer(model: BaseModel, *, status: int = 200) -> web.Response:
    """The model as the JSON body of a response (the model its route documents)."""
    return web.json_response(text=model.model_dump_json(), status=status)


async def blob_answer(
    request: web.Request, blobs: BlobStore, key: str, headers: dict[str, str]
) -> web.StreamResponse:
    """A stored blob as the body, never held whole in memory: the file itself (ranges,
    conditional requests, sendfile) from a local store, else streamed in chunks."""
    path = blobs.local_path(key)
    if path is not None:
        return web.FileResponse(path, headers=headers)
    size = await blobs.size(key)  # FileNotFoundError before anything is sent, when missing
    response = web.StreamResponse(headers=headers)
    response.content_length = size
    await response.prepare(request)
    if request.method != "HEAD":
        async for chunk in blobs.chunks(key):
            await response.write(chunk)
    await response.write_eof()
    return response
