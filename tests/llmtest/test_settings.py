"""llmtest.settings: logging as Django applies it, and static files in production."""

import io
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils.log import configure_logging


@pytest.fixture
def log_output(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Django's logging set up from the settings as under `make run` (DEBUG on),
    with every console handler writing to the returned buffer."""
    settings.DEBUG = True
    stream = io.StringIO()
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stderr", stream)
        configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)

    yield stream

    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)


def test_a_failed_request_is_logged_once_on_one_line_without_a_traceback(log_output):
    try:
        raise RuntimeError("the view broke")
    except RuntimeError:
        logging.getLogger("django.request").exception("Internal Server Error: /x")

    text = log_output.getvalue()
    assert text.count("\n") == 1
    assert "Traceback" not in text
    assert "ERROR django.request Internal Server Error: /x" in text
    assert "error=RuntimeError: the view broke" in text


@pytest.mark.parametrize(
    "logger_name",
    ["django.server", "django.channels.server", "django.utils.autoreload", "daphne"],
)
def test_request_and_server_lines_are_written_once(log_output, logger_name):
    logging.getLogger(logger_name).info("HTTP GET /healthz 200")

    assert log_output.getvalue().count("HTTP GET /healthz 200") == 1


def test_the_admins_static_files_are_served_once_collected(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", "--noinput", verbosity=0)

    response = Client().get("/static/admin/css/base.css")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert b"".join(response.streaming_content).startswith(b"/*")


def test_every_setting_read_from_the_environment_is_documented():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    source = (root / "llmtest" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z0-9_]+)"', source))
    example = set(
        re.findall(r"^([A-Z0-9_]+)=", (root / ".env.example").read_text(), re.M)
    )
    readme = (root / "README.md").read_text()
    assert read, "no setting found: the pattern is stale"
    assert read - example == set(), "missing from .env.example"
    assert {name for name in read if f"`{name}`" not in readme} == set(), (
        "missing from the README's settings table"
    )
