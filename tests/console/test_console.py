"""The console's browser tests (console/e2e/console.test.mjs, Playwright driving Debian's
chromium headless) against the real `retailflow serve` and the simulators, started here with the
e2e harness; fixtures.py makes the instances the scenarios need. Screenshots of every main page
go to RF_SCREENSHOTS (build/console-screenshots under ctest)."""

import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import Stack, World  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NODE = os.environ.get("RF_NODE") or shutil.which("node") or "node"
CHROMIUM = os.environ.get("RF_CHROMIUM", "/usr/bin/chromium")


class ConsoleBrowserTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(CHROMIUM, os.X_OK):
            raise RuntimeError("chromium not found at %s: run scripts/setup.sh (Debian package chromium)" % CHROMIUM)
        cls.s = Stack()
        cls.addClassCleanup(cls.s.stop)
        cls.s.start()
        cls.fixtures = World(cls.s).make()

    def test_console_in_a_browser(self):
        world = {"url": self.s.url, "tokens": self.s.tokens, "fixtures": self.fixtures}
        env = dict(os.environ, RF_CONSOLE_WORLD=json.dumps(world), RF_CHROMIUM=CHROMIUM,
                   RF_SCREENSHOTS=os.environ.get("RF_SCREENSHOTS", os.path.join(ROOT, "build", "console-screenshots")))
        p = subprocess.run([NODE, "--test", "--test-reporter=spec", "--test-concurrency=1",
                            os.path.join(ROOT, "console", "e2e", "console.test.mjs")],
                           cwd=os.path.join(ROOT, "console"), env=env, timeout=480,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        sys.stdout.write(p.stdout)
        if p.returncode != 0:
            sys.stdout.write("\n--- service log (tail) ---\n" + self.s.read("service.log")[-3000:])
        self.assertEqual(p.returncode, 0, "browser tests failed (output above)")


if __name__ == "__main__":
    unittest.main()
