"""Buying points: the packs on sale, Telegram Stars orders and Discord entitlements."""

from aiohttp import web

from core import purchases
from core.ledger import balance
from daemon.answers import json_answer
from daemon.auth import acting_account, acting_identity
from daemon.keys import ECONOMY, READ_SESSIONMAKER, SESSIONMAKER
from daemon.openapi import describe
from daemon.schemas import (
    CheckoutIn,
    EntitlementIn,
    OrderIn,
    PackOut,
    PacksOut,
    PaidIn,
    PurchaseOut,
    PurchasesOut,
)
from daemon.validation import parse_body, path_int

routes = web.RouteTableDef()


@routes.get("/v1/packs")
@describe(summary="The point packs on sale, with their prices", response=PacksOut)
async def get_packs(request: web.Request) -> web.Response:
    packs = request.app[ECONOMY].on_sale()
    return json_answer(PacksOut(packs=[PackOut.model_validate(pack) for pack in packs]))


@routes.post("/v1/purchases")
@describe(
    summary="Order a pack for Telegram Stars (the invoice's payload is `purchase:<id>`)",
    body=OrderIn,
    response=PurchaseOut,
    status=201,
    errors=(400, 404),
)
async def post_order(request: web.Request) -> web.Response:
    body = await parse_body(request, OrderIn)
    platform, user_id = acting_identity(request)
    async with request.app[SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        purchase = await purchases.create_order(
            session,
            request.app[ECONOMY],
            account_id=account.id,
            platform=platform,
            platform_user_id=user_id,
            pack_id=body.pack_id,
        )
        answer = PurchaseOut.of(purchase, account.balance)
    return json_answer(answer, status=201)


@routes.post("/v1/purchases/{id}/check")
@describe(
    summary="May this order be paid now? (Telegram's pre_checkout_query; changes nothing)",
    body=CheckoutIn,
    response=PurchaseOut,
    errors=(400, 404, 409),
)
async def post_check(request: web.Request) -> web.Response:
    purchase_id = path_int(request, "id")
    body = await parse_body(request, CheckoutIn)
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        purchase = await purchases.check_order(
            session,
            request.app[ECONOMY],
            account_id=account.id,
            purchase_id=purchase_id,
            currency=body.currency,
            total_amount=body.total_amount,
        )
        answer = PurchaseOut.of(purchase, account.balance)
    return json_answer(answer)


@routes.post("/v1/purchases/{id}/paid")
@describe(
    summary="Credit a paid order once per charge (Telegram's successful_payment)",
    body=PaidIn,
    response=PurchaseOut,
    status=201,
    repeat_status=200,
    errors=(400, 404, 409),
)
async def post_paid(request: web.Request) -> web.Response:
    purchase_id = path_int(request, "id")
    body = await parse_body(request, PaidIn)
    async with request.app[SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        purchase, created = await purchases.credit_order(
            session,
            account_id=account.id,
            purchase_id=purchase_id,
            charge_id=body.charge_id,
            currency=body.currency,
            total_amount=body.total_amount,
        )
        answer = PurchaseOut.of(purchase, await balance(session, account.id))
    return json_answer(answer, status=201 if created else 200)


@routes.post("/v1/purchases/entitlements")
@describe(
    summary="Credit a Discord consumable entitlement once (ENTITLEMENT_CREATE)",
    body=EntitlementIn,
    response=PurchaseOut,
    status=201,
    repeat_status=200,
    errors=(400, 404, 409),
)
async def post_entitlement(request: web.Request) -> web.Response:
    body = await parse_body(request, EntitlementIn)
    platform, user_id = acting_identity(request)
    async with request.app[SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        purchase, created = await purchases.credit_entitlement(
            session,
            request.app[ECONOMY],
            account_id=account.id,
            platform=platform,
            platform_user_id=user_id,
            entitlement_id=body.entitlement_id,
            sku_id=body.sku_id,
        )
        answer = PurchaseOut.of(purchase, await balance(session, account.id))
    return json_answer(answer, status=201 if created else 200)


@routes.get("/v1/purchases")
@describe(summary="The acting account's purchases, newest first", response=PurchasesOut)
async def get_purchases(request: web.Request) -> web.Response:
    async with request.app[READ_SESSIONMAKER].begin() as session:
        account = await acting_account(request, session)
        rows = await purchases.list_purchases(session, account.id)
    return json_answer(
        PurchasesOut(purchases=[PurchaseOut.of(row, account.balance) for row in rows])
    )
