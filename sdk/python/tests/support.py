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


BASE = "codepod/base:latest"


def need_base() -> None:
    """Skips unless CODEPOD_TEST_BASE_IMAGE=1 (CI sets it; the Go harness
    then builds codepod/base, which has python3, node and bash)."""
    if not os.environ.get("CODEPOD_TEST_BASE_IMAGE"):
        raise unittest.SkipTest("set CODEPOD_TEST_BASE_IMAGE=1 to run code contexts on codepod/base")
