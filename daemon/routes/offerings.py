"""What can be trained (offerings with their presets, bounds and base model) and the price
of automatic captions."""

from aiohttp import web

from core.captioning.locations import captioner_available
from core.offerings import Captioner
from core.training.locations import base_model_available
from daemon.answers import json_answer
from daemon.keys import OFFERINGS, SETTINGS
from daemon.openapi import describe
from daemon.schemas import CaptionerOut, OfferingOut, OfferingsOut

routes = web.RouteTableDef()


@routes.get("/v1/offerings")
@describe(
    summary="Offerings with presets, bounds, pricing and base model; the price of captions",
    response=OfferingsOut,
)
async def get_offerings(request: web.Request) -> web.Response:
    data_dir = request.app[SETTINGS].data_dir
    offerings = [
        OfferingOut.of(o, available=base_model_available(o.base_model, data_dir))
        for o in request.app[OFFERINGS].all()
    ]
    captioner = request.app[OFFERINGS].captioner
    shown = None if captioner is None else _captioner_out(captioner)
    return json_answer(OfferingsOut(offerings=offerings, captioner=shown))


def _captioner_out(captioner: Captioner) -> CaptionerOut:
    return CaptionerOut(
        title=captioner.title,
        points_per_image=captioner.points_per_image,
        enabled=captioner.enabled,
        available=captioner_available(captioner.model),
    )
