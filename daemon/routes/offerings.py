"""What can be trained: offerings with their presets, bounds and base model."""

from aiohttp import web

from core.training.locations import base_model_available
from daemon.answers import json_answer
from daemon.keys import OFFERINGS, SETTINGS
from daemon.openapi import describe
from daemon.schemas import OfferingOut, OfferingsOut

routes = web.RouteTableDef()


@routes.get("/v1/offerings")
@describe(summary="Offerings with presets, bounds, pricing and base model", response=OfferingsOut)
async def get_offerings(request: web.Request) -> web.Response:
    data_dir = request.app[SETTINGS].data_dir
    offerings = [
        OfferingOut.of(o, available=base_model_available(o.base_model, data_dir))
        for o in request.app[OFFERINGS].all()
    ]
    return json_answer(OfferingsOut(offerings=offerings))
