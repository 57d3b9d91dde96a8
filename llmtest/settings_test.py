"""Settings for the test suite: the real settings, with a throwaway secret."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-any-deployment")

from llmtest.settings import *  # noqa: F403

# Quick hashing: the suite makes admin users in several tests.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
