"""The animated QR code: one string per second, derived from a secret that stays on the server.

BankID RP API v6.0, "QR code" guide: the QR code shown for "BankID on another device" changes
every second and reads ``bankid.<qrStartToken>.<time>.<qrAuthCode>``, where ``time`` is the whole
number of seconds since the auth/sign answer arrived and ``qrAuthCode`` is
HMAC-SHA256(key=qrStartSecret, message=str(time)) as lower-case hex. The BankID app sends the
frame it scanned to BankID, which recomputes it; a screenshot relayed by a fraudster is stale
within a second or two.

The ``qrStartSecret`` must never reach a browser: the page asks the server for each frame.
"""

from __future__ import annotations

import hashlib
import hmac
import math

PREFIX = "bankid"


def qr_auth_code(qr_start_secret: str, elapsed_seconds: int) -> str:
    """HMAC-SHA256 of the decimal seconds, keyed with the start secret, as 64 hex digits."""
    return hmac.new(
        qr_start_secret.encode("ascii"),
        str(elapsed_seconds).encode("ascii"),
        hashlib.sha256,
    ).hexdigest()


def qr_data(qr_start_token: str, qr_start_secret: str, elapsed_seconds: float) -> str:
    """This second's QR content for an order.

    ``elapsed_seconds`` may be fractional; it is floored to the whole second the frame belongs
    to (a negative value, from a clock step, counts as second 0).
    """
    if not qr_start_token or not qr_start_secret:
        raise ValueError("qr_start_token and qr_start_secret are both required")
    time = max(0, math.floor(elapsed_seconds))
    return f"{PREFIX}.{qr_start_token}.{time}.{qr_auth_code(qr_start_secret, time)}"
