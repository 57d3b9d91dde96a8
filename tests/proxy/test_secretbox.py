"""proxy.secretbox: provider keys encrypted under a key derived from SECRET_KEY."""

import logging

from proxy import secretbox

GROQ_KEY = "gsk_live_Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeQ7r"


def test_a_key_reads_back_as_it_was_stored():
    token = secretbox.encrypt(GROQ_KEY)

    assert secretbox.decrypt(token) == GROQ_KEY
    assert GROQ_KEY not in token


def test_a_key_stored_under_another_secret_key_is_empty_and_logged_without_it(
    settings, caplog
):
    token = secretbox.encrypt(GROQ_KEY)
    settings.SECRET_KEY = "a-rotated-secret-key-for-this-test-only"

    with caplog.at_level(logging.WARNING, logger="proxy.secretbox"):
        plain = secretbox.decrypt(token, provider="groq")

    assert plain == ""
    [record] = caplog.records
    assert (record.levelname, record.getMessage()) == (
        "WARNING",
        "provider_key.unreadable",
    )
    assert record.provider == "groq"
    logged = str(record.__dict__)
    assert GROQ_KEY[4:-4] not in logged and token not in logged
