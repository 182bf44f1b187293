"""What can be trained: offerings with their presets, bounds and base model."""

from aiohttp import web

from core.offerings import Offering
from core.training.locations import base_model_available
from daemon.keys import OFFERINGS, SETTINGS
from daemon.openapi import describe
from daemon.schemas import OfferingsOut

routes = web.RouteTableDef()


def offering_view(offering: Offering, available: bool) -> dict:
    """The JSON shape of an offering."""
    data = offering.model_dump(
        include={
            "id",
            "title",
            "description",
            "family",
            "enabled",
            "base_model",
            "resolution",
            "min_images",
            "max_images",
            "bounds",
            "pricing",
        }
    )
    data["presets"] = {
        name: preset.model_dump(
            include={"steps", "rank", "alpha", "learning_rate", "batch_size", "resolution"}
        )
        for name, preset in offering.presets.items()
    }
    data["base_model_available"] = available
    return data


@routes.get("/v1/offerings")
@describe(summary="Offerings with presets, bounds, pricing and base model", response=OfferingsOut)
async def get_offerings(request: web.Request) -> web.Response:
    data_dir = request.app[SETTINGS].data_dir
    offerings = [
        offering_view(o, base_model_available(o.base_model, data_dir))
        for o in request.app[OFFERINGS].all()
    ]
    return web.json_response({"offerings": offerings})
