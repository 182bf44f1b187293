"""What can be trained (offerings with their presets, bounds and base model) and the price
of automatic captions."""

from pathlib import Path

from aiohttp import web

from core.captioning.locations import captioner_available
from core.estimate import missing_base_model, unavailability
from core.offerings import Captioner, Offering
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
    offerings = [_offering_out(o, data_dir) for o in request.app[OFFERINGS].all()]
    captioner = request.app[OFFERINGS].captioner
    shown = None if captioner is None else _captioner_out(captioner)
    return json_answer(OfferingsOut(offerings=offerings, captioner=shown))


def _offering_out(offering: Offering, data_dir: Path) -> OfferingOut:
    # The preflight's own check, so what is listed as available is what an estimate accepts.
    return OfferingOut.of(
        offering,
        base_model=missing_base_model(offering, data_dir) is None,
        unavailable=unavailability(offering, data_dir),
    )


def _captioner_out(captioner: Captioner) -> CaptionerOut:
    return CaptionerOut(
        title=captioner.title,
        points_per_image=captioner.points_per_image,
        enabled=captioner.enabled,
        available=captioner_available(captioner.model),
    )
