"""Personal identity numbers at rest: encrypted to be read back, hashed to be matched.

A stored number is AES-256-GCM ciphertext under a key from the key ring, with a fresh 96-bit
nonce and the row's purpose bound in as associated data, so a ciphertext copied into another
column or table does not decrypt. Matching (is the verified person the one invited? is this
staff member in the directory?) uses an HMAC-SHA256 under a *separate* key: the hash alone
cannot be reversed by trying all ~10^9 valid numbers without that key.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from meetsvc.core.secrets import Secret

_VERSION = b"\x01"


class PersonalNumberVault:
    def __init__(self, encryption_key: Secret, hash_key: Secret) -> None:
        self._aead = AESGCM(encryption_key.reveal())
        self._hash_key = hash_key

    def encrypt(self, normal_form: str, purpose: str) -> bytes:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, normal_form.encode("ascii"), purpose.encode())
        return _VERSION + nonce + sealed

    def decrypt(self, blob: bytes, purpose: str) -> str:
        if not blob or blob[:1] != _VERSION:
            raise ValueError("unknown ciphertext version")
        try:
            return self._aead.decrypt(blob[1:13], blob[13:], purpose.encode()).decode("ascii")
        except InvalidTag:
            raise ValueError("ciphertext does not decrypt under this key and purpose") from None

    def keyed_hash(self, normal_form: str) -> str:
        return hmac.new(self._hash_key.reveal(), normal_form.encode("ascii"), hashlib.sha256).hexdigest()
