"""The payload of a Telegram Stars invoice: the order it pays, written by the bots and read
back by the bots and the daemon (free of heavy imports, so both can use it)."""

PREFIX = "purchase:"


def invoice_payload(purchase_id: int) -> str:
    """The payload of the invoice for an order."""
    return f"{PREFIX}{purchase_id}"


def order_in_payload(payload: str) -> int | None:
    """The order an invoice payload names; None for a payload lorabot did not make."""
    number = payload.removeprefix(PREFIX)
    if number == payload or not (number.isascii() and number.isdigit()):
        return None
    return int(number)
