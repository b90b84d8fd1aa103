"""What the BankID app checks when it scans an animated QR code.

The QR code's content is ``bankid.<qrStartToken>.<time>.<qrAuthCode>`` where ``time`` is the
whole number of seconds since the auth/sign response and ``qrAuthCode`` is the lowercase hex
HMAC-SHA256 of ``str(time)`` keyed with ``qrStartSecret`` (developers.bankid.com, "QR code").
Because only the RP's server knows the secret and the code changes every second, a photo of the
screen forwarded to someone else stops working within seconds; the simulator enforces both the
code and the time so that a client that renders the wrong frame fails here, not in production.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from dataclasses import dataclass

_QR_CONTENT = re.compile(
    r"bankid\.(?P<token>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"\.(?P<time>0|[1-9][0-9]{0,5})\.(?P<code>[0-9a-f]{64})"
)


class QrRefused(Exception):
    """The app would not accept this QR code; the message says why."""


@dataclass(frozen=True, slots=True)
class QrContent:
    qr_start_token: str
    time: int
    qr_auth_code: str


def parse_qr(data: str) -> QrContent:
    match = _QR_CONTENT.fullmatch(data.strip())
    if match is None:
        raise QrRefused("not a BankID QR code (expected bankid.<qrStartToken>.<time>.<qrAuthCode>)")
    return QrContent(match["token"].lower(), int(match["time"]), match["code"])


def qr_auth_code(qr_start_secret: str, time: int) -> str:
    return hmac.new(qr_start_secret.encode("ascii"), str(time).encode("ascii"), hashlib.sha256).hexdigest()


def verify_qr(content: QrContent, qr_start_secret: str, elapsed_seconds: float, tolerance: int) -> None:
    """Accept the code only if it is this order's and was computed for (about) now.

    ``tolerance`` is how many whole seconds the frame may be off: a page refreshes the QR
    code once a second and the camera needs a moment, so an exact match would refuse honest
    scans.
    """
    expected = qr_auth_code(qr_start_secret, content.time)
    if not hmac.compare_digest(expected, content.qr_auth_code):
        raise QrRefused("qrAuthCode does not match HMAC-SHA256(qrStartSecret, time)")
    now = math.floor(elapsed_seconds)
    if abs(content.time - now) > tolerance:
        raise QrRefused(f"QR code is for second {content.time} but the order is {now} s old")
