"""Replace personal data and credentials in captured text with placeholders.

Captured samples are kept for weeks and shown in the admin and to benchmarks; the
e-mail addresses, phone and payment card numbers and API keys a user typed into a
production prompt must not be kept with them. The rules aim at what such text
really holds: a year, a price or an order number is left alone, and a 16-digit
number is a card only when its Luhn check digit says so.
"""

import re
from collections.abc import Callable

EMAIL = "[EMAIL]"
PHONE = "[PHONE]"
CARD = "[CARD]"
SECRET = "[SECRET]"  # noqa: S105  (the placeholder, not a secret)

# Digits in a phone number, ITU-T E.164 (8 is the shortest in common use).
_PHONE_DIGITS = range(8, 16)
# Digits in a national number written with a trunk prefix ("030 1234567").
_NATIONAL_DIGITS = range(9, 13)
# Digits in a payment card number (ISO/IEC 7812).
_CARD_DIGITS = range(13, 20)

# Credentials with a recognisable shape, checked before the number rules so that the
# digits inside a key are never mistaken for a phone or card number.
_KEYS = re.compile(
    r"""
    \bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}      # OpenAI, Anthropic
    | \b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}    # Stripe
    | \bllmt_[A-Za-z0-9_-]{16,}                 # this gateway's keys
    | \b(?:AKIA|ASIA)[A-Z0-9]{16}\b             # AWS access key ids
    | \bgh[pousr]_[A-Za-z0-9]{30,}              # GitHub tokens
    | \bgithub_pat_[A-Za-z0-9_]{30,}
    | \bxox[abposr]-[A-Za-z0-9-]{10,}           # Slack tokens
    | \bAIza[A-Za-z0-9_-]{35}                   # Google API keys
    | \beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}  # JWTs
    """,
    re.VERBOSE,
)
_BEARER = re.compile(r"\b(Bearer\s+)[A-Za-z0-9._~+/=-]{16,}", re.IGNORECASE)
# Any value of eight characters or more given to a key, token, secret or password
# ("api_key=…", "password: …", "?token=…", JSON's "client_secret": "…").
_ASSIGNED = re.compile(
    r"""
    (\b(?:[A-Za-z0-9]+[_-])*
      (?:api[_-]?key|access[_-]?key|private[_-]?key|secret(?:[_-]?key)?
       |client[_-]?secret|token|password|passwd|pwd)
    ["']?\s*[:=]\s*["']?)
    [^\s"'&,;<>]{8,}
    """,
    re.VERBOSE | re.IGNORECASE,
)
_EMAIL = re.compile(
    r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
# 4-4-4-4(-3) and Amex's 4-6-5 groups with one kind of separator, or 13-19 digits
# in a row; the Luhn check decides. A leading + makes it a phone number.
_CARD = re.compile(
    r"""
    (?<![\d+-])
    (?: \d{4}([ -]?)\d{4}\1\d{4}\1\d{4}(?:\1\d{3})?
      | \d{4}([ -]?)\d{6}\2\d{5}
      | \d{13,19} )
    (?![\d-])
    """,
    re.VERBOSE,
)
# "+44 20 7946 0958", "+1 (555) 123-4567", "+4915112345678": one separator between
# groups, so a dash between a number and the next word is not swallowed.
_INTERNATIONAL = re.compile(
    r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{1,5}){1,5}(?!\d)"
)
# North American "(555) 123-4567", "555-123-4567", "555.123.4567".
_NORTH_AMERICAN = re.compile(
    r"(?<![\w+.,])(?:1[ .-])?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w])"
)
# National numbers with a trunk 0 and separators: "030 1234567", "020 7946 0958",
# "06 12 34 56 78", "0171-1234567". Dates like "05/06/2023" have too few digits.
_NATIONAL = re.compile(r"(?<![\w+.,/-])0\d{1,4}(?:[ /-]\d{2,8}){1,4}(?![\w/-])")


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


def luhn_valid(number: str) -> bool:
    """Whether a string of digits passes the Luhn check of card numbers."""
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = _digits(match.group(0))
    if len(digits) in _CARD_DIGITS and luhn_valid(digits):
        return CARD
    return match.group(0)


def _phone_with(digit_counts: range) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        if len(_digits(match.group(0))) in digit_counts:
            return PHONE
        return match.group(0)

    return replace


def redact(text: str) -> str:
    """The text with e-mail addresses, phone and card numbers and secrets replaced
    by [EMAIL], [PHONE], [CARD] and [SECRET]."""
    text = _KEYS.sub(SECRET, text)
    text = _BEARER.sub(lambda match: match.group(1) + SECRET, text)
    text = _ASSIGNED.sub(lambda match: match.group(1) + SECRET, text)
    text = _EMAIL.sub(EMAIL, text)
    text = _CARD.sub(_card, text)
    text = _INTERNATIONAL.sub(_phone_with(_PHONE_DIGITS), text)
    text = _NORTH_AMERICAN.sub(PHONE, text)
    return _NATIONAL.sub(_phone_with(_NATIONAL_DIGITS), text)
