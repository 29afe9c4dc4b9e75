"""What the tests share: a client of the server named by the environment
(the Go harness in sdk/sdk_test.go starts one), and the tiny image."""

from __future__ import annotations

import os
import unittest

import codepod

TINY = "codepod/tiny:latest"


def client() -> codepod.Client:
    """The test server's client; skips the test when none is configured."""
    if not os.environ.get("CODEPOD_SERVER_URL") or not os.environ.get("CODEPOD_API_KEY"):
        raise unittest.SkipTest("CODEPOD_SERVER_URL and CODEPOD_API_KEY are not set (go test ./sdk runs these tests)")
    return codepod.Client()
