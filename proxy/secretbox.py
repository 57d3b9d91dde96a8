"""Encrypts provider keys stored in the database (Fernet, key derived from SECRET_KEY).

Rotating SECRET_KEY makes stored provider keys unreadable: they must be entered again.
"""

import base64
import logging
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

logger = logging.getLogger(__name__)

# Domain separation, so this key differs from anything else derived from SECRET_KEY.
_INFO = b"llmtest provider keys v1"


@cache
def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(plain: str) -> str:
    return _fernet(settings.SECRET_KEY).encrypt(plain.encode()).decode()


def decrypt(token: str, *, provider: str = "") -> str:
    """The plain text; an empty string, with a warning naming the provider, when
    the token cannot be read (it was encrypted under another SECRET_KEY)."""
    if not token:
        return ""
    try:
        return _fernet(settings.SECRET_KEY).decrypt(token.encode()).decode()
    except InvalidToken:
        # Nothing of the token goes in the line: the event and the provider tell the
        # operator which key to enter again.
        logger.warning("provider_key.unreadable", extra={"provider": provider})
        return ""


def hint(plain: str) -> str:
    """What may be shown of a key: its last four characters."""
    return f"…{plain[-4:]}" if len(plain) >= 8 else "…"
