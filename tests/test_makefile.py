"""The Makefile targets a newcomer runs: `make run` and, in production, `make serve`."""

import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _make(directory: Path, *args: str) -> str:
    shutil.copy(ROOT / "Makefile", directory / "Makefile")
    # The virtualenv counts as installed, so only the target's own steps run.
    done = subprocess.run(  # noqa: S603 (fixed arguments, no shell)
        ["make", "--no-print-directory", "-o", ".venv/.installed", *args],  # noqa: S607
        cwd=directory,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _env_file(directory: Path) -> dict[str, str]:
    lines = (directory / ".env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


def test_make_run_first_writes_the_env_then_runs_manage_py_without_inline_settings(
    tmp_path,
):
    out = _make(tmp_path, "-n", "run")

    steps = out.splitlines()
    manage_py = [step for step in steps if "manage.py" in step]
    assert "token_urlsafe" in "".join(steps[: steps.index(manage_py[0])])
    assert [step.split()[2] for step in manage_py] == ["migrate", "runserver"]
    assert not any("DEBUG" in step for step in manage_py)


def test_the_env_holds_debug_and_a_random_secret_key_for_its_owner_only(tmp_path):
    out = _make(tmp_path, ".env")

    settings = _env_file(tmp_path)
    assert "wrote .env" in out
    assert settings["DEBUG"] == "true"
    assert len(settings["SECRET_KEY"]) >= 50
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600


def test_an_env_that_exists_is_kept(tmp_path):
    (tmp_path / ".env").write_text("DEBUG=false\nSECRET_KEY=mine\n")

    out = _make(tmp_path, ".env")

    assert "wrote .env" not in out
    assert _env_file(tmp_path) == {"DEBUG": "false", "SECRET_KEY": "mine"}


def test_each_checkout_gets_its_own_secret_key(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()

    _make(first, ".env")
    _make(second, ".env")

    assert _env_file(first)["SECRET_KEY"] != _env_file(second)["SECRET_KEY"]


def test_make_serve_collects_the_static_files_before_serving(tmp_path):
    out = _make(tmp_path, "-n", "serve", "WORKERS=1")

    steps = out.splitlines()
    collect = next(i for i, step in enumerate(steps) if "collectstatic" in step)
    serve = next(i for i, step in enumerate(steps) if "uvicorn" in step)
    assert "--noinput" in steps[collect]
    assert collect < serve
