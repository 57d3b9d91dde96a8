"""Redaction of captured text: personal data and credentials out, the rest kept."""

import pytest

from flows.redaction import luhn_valid, redact

# Key-shaped values are assembled, so that no file holds one that looks real.
OPENAI_KEY = "sk-" + "proj-" + "Ab1" * 15
ANTHROPIC_KEY = "sk-ant-" + "api03-" + "xY9_" * 10
GATEWAY_KEY = "llmt_" + "k3" * 20
AWS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
GITHUB_TOKEN = "ghp_" + "aB3" * 12
SLACK_TOKEN = "xoxb-" + "123456789012-" + "abcDEF" * 3
JWT = "eyJ" + "hbGciOiJIUzI1NiJ9" + "." + "eyJzdWIiOiIxMjM0In0" + "." + "s1gn4tur3" * 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Write to jane.doe@example.com today", "Write to [EMAIL] today"),
        ("cc: j.o'neil+news@mail.corp.co.uk", "cc: j.o'[EMAIL]"),
        ("<SUPPORT@EXAMPLE.ORG>", "<[EMAIL]>"),
    ],
)
def test_it_redacts_email_addresses(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "phone",
    [
        "+44 20 7946 0958",
        "+1 (555) 123-4567",
        "+4915112345678",
        "+33 6 12 34 56 78",
        "+49-30-1234567",
        "(555) 123-4567",
        "555-123-4567",
        "555.123.4567",
        "1-555-123-4567",
        "030 1234567",
        "020 7946 0958",
        "06 12 34 56 78",
        "0171-1234567",
        "030/12345678",
    ],
)
def test_it_redacts_phone_numbers(phone):
    assert redact(f"Call me on {phone} tomorrow.") == "Call me on [PHONE] tomorrow."


@pytest.mark.parametrize(
    "card",
    [
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111111111111111",
        "5500 0000 0000 0004",
        "3782 822463 10005",
        "378282246310005",
        "6011000990139424",
        "4222222222222",
    ],
)
def test_it_redacts_card_numbers_that_pass_the_luhn_check(card):
    assert redact(f"My card: {card}, thanks") == "My card: [CARD], thanks"


@pytest.mark.parametrize(
    "secret",
    [
        OPENAI_KEY,
        ANTHROPIC_KEY,
        GATEWAY_KEY,
        AWS_KEY_ID,
        GITHUB_TOKEN,
        SLACK_TOKEN,
        JWT,
    ],
)
def test_it_redacts_api_keys_and_tokens(secret):
    assert redact(f"the key is {secret} ok") == "the key is [SECRET] ok"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc123def456ghi789", "Authorization: Bearer [SECRET]"),
        ("api_key=0f3a9c8e7d6b5a4f3e2d1c0b", "api_key=[SECRET]"),
        ('{"client_secret": "Zm9vYmFyYmF6cXV4"}', '{"client_secret": "[SECRET]"}'),
        ("password: hunter2hunter2", "password: [SECRET]"),
        ("GET /export?token=9f8e7d6c5b4a&page=2", "GET /export?token=[SECRET]&page=2"),
        ("STRIPE_SECRET_KEY=whsec1234567890abc", "STRIPE_SECRET_KEY=[SECRET]"),
    ],
)
def test_it_redacts_values_given_to_keys_tokens_and_passwords(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "In 2024 we shipped order 12345 for $1,299.99 (or 1.299,99 EUR).",
        "Dates: 05/06/2023, 01-02-2024 and 2024-01-15.",
        "Tracking number 1Z999AA10123456784 and invoice INV-2024-00017.",
        "The id 1234567890123456 fails the Luhn check.",
        "4111 1111 1111 1112 is one digit off a test card.",
        "Version 1.2.3, ISBN 978-3-16-148410-0, SSN-like 123-45-6789.",
        "Prices went +5.00 or 15% up; room 0 12; IP 192.168.1.10.",
        "the token: ok, a password: short, sk-short",
        "monkey=bananas12345 and turkey: stuffing1234",
        "Bearer of bad news",
        "An e-mail @ the office, or user@localhost.",
    ],
)
def test_it_leaves_ordinary_text_and_numbers_alone(text):
    assert redact(text) == text


def test_it_redacts_every_kind_in_one_text():
    text = (
        f"I'm ann@example.com, phone +1 555 123 4567, card 4111111111111111, "
        f"key {OPENAI_KEY}."
    )

    assert redact(text) == "I'm [EMAIL], phone [PHONE], card [CARD], key [SECRET]."


def test_the_digits_inside_a_key_are_not_taken_for_a_card_or_phone():
    key = "sk-" + "4111111111111111" + "x" * 20

    assert redact(key) == "[SECRET]"


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4111111111111111", True),
        ("4111111111111112", False),
        ("79927398713", True),
        ("79927398710", False),
        ("0", True),
        ("378282246310005", True),
    ],
)
def test_the_luhn_check(number, valid):
    assert luhn_valid(number) is valid
