"""How a route answers: one response model, serialised by pydantic straight to JSON text."""

from aiohttp import web
from pydantic import BaseModel


def json_answer(model: BaseModel, *, status: int = 200) -> web.Response:
    """The model as the JSON body of a response (the model its route documents)."""
    return web.json_response(text=model.model_dump_json(), status=status)
