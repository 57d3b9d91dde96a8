"""Settings for the test suite: the real settings, with a throwaway secret."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-any-deployment")
# No sweeper thread checking benchmarks behind the tests' backs (tests that want
# one start it, or set this for the processes they start).
os.environ.setdefault("BENCHMARK_WATCH_S", "0")

from llmtest.settings import *  # noqa: F403

# Quick hashing: the suite makes admin users in several tests.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The live gateway's threads must not keep connections open past a test: PostgreSQL
# refuses to drop a test database that still has users.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # One file per run, so two runs in one checkout never share a database.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(BASE_DIR / f"test_db_{os.getpid()}.sqlite3")  # noqa: F405
    }

# Capture no samples unless a test asks for it: a random 5% would make other tests'
# database contents depend on chance.
SAMPLE_CAPTURE_RATE = 0.0
