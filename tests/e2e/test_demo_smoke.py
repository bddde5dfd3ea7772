"""Smoke test of the retail demo (examples/demo/demo.py, what scripts/run.sh runs): a small mix on
free ports and a temporary data dir, exiting after the summary. Asserts on what the demo reports
from the service and the simulators' final state: every generated return became exactly one
instance (duplicated and late webhooks suppressed), every API start was accepted, nothing is left
running, and the credit notes in Odoo match the refunded returns exactly."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEMO = os.path.join(ROOT, "examples", "demo", "demo.py")


class DemoSmoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="rf_demo_smoke_")
        cls.summary_file = os.path.join(cls.tmp, "summary.json")
        p = subprocess.Popen([sys.executable, DEMO, "--ports", "auto", "--scale", "0.05", "--no-wait",
                              "--summary-json", cls.summary_file],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            cls.out = p.communicate(timeout=150)[0]
        except subprocess.TimeoutExpired:
            # SIGTERM, not SIGKILL: the demo then stops the simulators and the service it started
            # (each in its own session, out of reach of a kill of the demo alone).
            p.send_signal(signal.SIGTERM)
            try:
                cls.out = p.communicate(timeout=60)[0]
            except subprocess.TimeoutExpired:
                p.kill()
                cls.out = p.communicate()[0]
            cls.out += "\n(timed out after 150 s; stopped)"
        cls.code = p.returncode
        cls.summary = None
        if os.path.exists(cls.summary_file):
            with open(cls.summary_file) as f:
                cls.summary = json.load(f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        if self.code != 0 or self.summary is None:
            self.fail("demo exited with %s:\n%s" % (self.code, self.out[-6000:]))

    def test_the_four_workflows_are_deployed(self):
        self.assertEqual(self.summary["deployed"],
                         ["click_and_collect", "stock_reconciliation", "store_return", "store_transfer"])
        self.assertIn("== Summary", self.out)

    def test_every_return_webhook_starts_exactly_one_instance(self):
        wh = self.summary["webhooks"]
        self.assertEqual(wh["returns_generated"], 10)
        self.assertEqual(self.summary["workflows"]["store_return"]["started"], 10)
        self.assertEqual(wh["accepted"], 10)
        self.assertEqual(wh["rejected"], 0)
        self.assertEqual(wh["pos_delivery"]["pending"], 0)
        self.assertEqual(wh["pos_delivery"]["failed"], 0)
        # Every extra delivery (planned duplicate or a retry) was answered as a duplicate.
        self.assertEqual(wh["pos_delivery"]["acknowledged"], wh["accepted"] + wh["duplicates"])

    def test_api_starts(self):
        self.assertEqual(self.summary["started_via_api"], {"click_and_collect": 5, "store_transfer": 1})
        self.assertEqual(self.summary["workflows"]["click_and_collect"]["started"], 5)
        self.assertEqual(self.summary["workflows"]["store_transfer"]["started"], 1)

    def test_nothing_left_running(self):
        for w, s in self.summary["workflows"].items():
            self.assertEqual(s.get("running", 0), 0, w)

    def test_credit_notes_match_refunds(self):
        o = self.summary["odoo"]
        self.assertEqual(o["posted"], o["returns_refunded"])
        self.assertEqual(o["posted_total"], o["refund_total"])


if __name__ == "__main__":
    unittest.main()
