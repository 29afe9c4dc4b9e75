from __future__ import annotations

import time
import unittest
import urllib.error
import urllib.request

import codepod

from .support import TINY, client


class PreviewTest(unittest.TestCase):
    def setUp(self) -> None:
        self.client = client()

    def test_preview_url_ports_and_lifetime(self) -> None:
        with codepod.Sandbox.create(name="sdk-py-preview", image=TINY, memory="64m", ttl=3600, client=self.client) as sb:
            r = sb.exec("mkdir -p /www && echo from-python-sdk > /www/index.html && httpd -p 8000 -h /www")
            self.assertEqual(r.exit_code, 0, r.stderr)
            url = sb.get_preview_url(8000, ttl="10m")
            with urllib.request.urlopen(url, timeout=30) as resp:  # no API key
                self.assertEqual(resp.read(), b"from-python-sdk\n")
            self.assertEqual([p.port for p in sb.ports()], [8000])
            sb.close_port(8000)
            with self.assertRaises(urllib.error.HTTPError) as cm:
                urllib.request.urlopen(url, timeout=30)
            self.assertEqual(cm.exception.code, 404)

            sb.set_timeout(7200)
            self.assertGreater(sb.info.expires_at.timestamp() - time.time(), 7100)
            sb.set_timeout("30m")
            self.assertLess(sb.info.expires_at.timestamp() - time.time(), 1801)
            sb.set_idle_timeout("10m")
            self.assertEqual(sb.info.idle_timeout_seconds, 600)
            with self.assertRaises(codepod.CodePodError):
                sb.set_idle_timeout("soon")


if __name__ == "__main__":
    unittest.main()
