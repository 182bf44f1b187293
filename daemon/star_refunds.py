"""Refunds of Telegram Stars payments: the one Bot API call the daemon makes itself."""

import aiohttp

from core.errors import ProviderFailed
from core.settings import Settings

TELEGRAM_API = "https://api.telegram.org"
# Telegram's answer when the charge was refunded before (e.g. by a call whose answer was lost).
ALREADY_REFUNDED = "CHARGE_ALREADY_REFUNDED"


async def refund_star_payment(settings: Settings, user_id: int, charge_id: str) -> None:
    """Ask Telegram to return a Stars payment; ProviderFailed says why it did not.

    A charge Telegram already refunded counts as refunded: a retried refund is idempotent.
    """
    if settings.telegram_token is None:
        raise ProviderFailed(
            "the daemon has no LORABOT_TELEGRAM_TOKEN, so it cannot refund Telegram Stars",
            code="PROVIDER_NOT_CONFIGURED",
        )
    base = (settings.telegram_api_base or TELEGRAM_API).rstrip("/")
    url = f"{base}/bot{settings.telegram_token.get_secret_value()}/refundStarPayment"
    body = {"user_id": user_id, "telegram_payment_charge_id": charge_id}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http,
            http.post(url, json=body) as response,
        ):
            answer = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise ProviderFailed(
            f"Telegram could not be asked to refund: {exc!r}", code="PROVIDER_UNREACHABLE"
        ) from None
    if not isinstance(answer, dict):
        raise ProviderFailed("Telegram answered the refund with something that is not JSON")
    if answer.get("ok") or ALREADY_REFUNDED in str(answer.get("description", "")):
        return
    raise ProviderFailed(
        f"Telegram refused the refund: {answer.get('description', answer)}",
        code="PROVIDER_REFUSED",
    )
