"""The e2e harness cleans up what it started, on every path: a service binary that is missing or
exits at once, simulators whose parent was killed, a test that forgets to stop its stack, and a
test process killed outright (as by a ctest timeout). Each test records the (pid, start time) of
every process the stack started while they run, and asserts afterwards that none of them is
alive; it also scans /proc for any process carrying this test's marker in its environment
(inherited by everything started below the test), so a process that left its group is caught too.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import Stack, alive  # noqa: E402

MARK = "RF_HARNESS_TEST_MARK"


def marked(value):
    """Pids of live processes whose environment holds MARK=value."""
    needle = ("%s=%s" % (MARK, value)).encode()
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                if needle in f.read().split(b"\0"):
                    out.append(int(d))
        except OSError:
            continue
    return out


def wait_gone(procs, timeout):
    """Waits until none of `procs` is alive (bounded); returns the survivors."""
    deadline = time.time() + timeout
    left = alive(procs)
    while left and time.time() < deadline:
        time.sleep(0.05)
        left = alive(procs)
    return left


class RecordingStack(Stack):
    """Records the processes running just before the service is started."""

    def start_service(self):
        self.before_service = self.pids()
        super().start_service()


class HarnessCleanup(unittest.TestCase):
    def setUp(self):
        self.mark = uuid.uuid4().hex
        os.environ[MARK] = self.mark
        self.addCleanup(os.environ.pop, MARK, None)
        self.tmp = tempfile.mkdtemp(prefix="rf_harness_test_")
        self.addCleanup(__import__("shutil").rmtree, self.tmp, True)

    def assert_nothing_of_ours_left(self, procs):
        self.assertEqual(set(), alive(procs), "processes the stack started are still running")
        self.assertEqual([], marked(self.mark), "processes carrying this test's marker are still running")

    def failed_start(self, cli):
        s = RecordingStack(cli=cli)
        with self.assertRaises(RuntimeError) as cm:
            s.start()
        # run_all.py and its four simulators were up when the service was tried.
        self.assertGreaterEqual(len(s.before_service), 5, s.before_service)
        self.assert_nothing_of_ours_left(s.before_service)
        self.assertFalse(os.path.exists(s.dir), "the stack's temp dir was not removed")
        self.assertNotIn(s, harness._live)
        return str(cm.exception), s

    def test_a_missing_service_binary_is_named_and_leaves_nothing_running(self):
        missing = os.path.join(self.tmp, "no", "retailflow")
        msg, _ = self.failed_start(missing)
        self.assertIn("service binary not found", msg)
        self.assertIn(missing, msg)

    def test_a_service_that_exits_at_once_is_reported_with_its_output_and_its_group_is_ended(self):
        # The fake service leaves a child of its own behind in its process group, then fails.
        pid_file = os.path.join(self.tmp, "orphan.pid")
        fake = os.path.join(self.tmp, "retailflow")
        with open(fake, "w") as f:
            f.write(textwrap.dedent("""\
                #!/bin/sh
                sleep 300 &
                echo $! > %s
                echo "fake service: no configuration" >&2
                exit 3
                """ % pid_file))
        os.chmod(fake, 0o755)
        msg, s = self.failed_start(fake)
        self.assertIn("service exited with status 3", msg)
        self.assertIn("fake service: no configuration", msg)
        with open(pid_file) as f:
            orphan = int(f.read())
        self.assertFalse(_running(orphan), "the service's own child survived")

    def test_stop_ends_simulators_whose_parent_was_killed(self):
        s = Stack()
        self.addCleanup(s.stop)
        s.start()
        procs = s.pids()
        self.assertGreaterEqual(len(procs), 6, procs)  # run_all, four simulators, the service
        os.kill(s.sims.pid, signal.SIGKILL)  # its simulators are orphaned, still in its group
        s.stop()
        self.assert_nothing_of_ours_left(procs)

    def run_child(self, then):
        """A Python process that starts a Stack, prints its processes, then does `then`."""
        code = textwrap.dedent("""\
            import json, sys, time
            sys.path.insert(0, %r)
            from harness import Stack
            s = Stack()
            s.start()
            print(json.dumps(sorted(s.pids())), flush=True)
            %s
            """ % (HERE, then))
        p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        line = p.stdout.readline()
        self.assertTrue(line, "the child did not start its stack")
        procs = {tuple(x) for x in json.loads(line)}
        self.assertGreaterEqual(len(procs), 6, procs)
        return p, procs

    def test_a_stack_never_stopped_is_stopped_when_the_interpreter_exits(self):
        p, procs = self.run_child("sys.exit(0)  # no s.stop()")
        self.assertEqual(0, p.wait(timeout=120))
        self.assert_nothing_of_ours_left(procs)

    def test_a_test_process_killed_outright_takes_its_stack_with_it(self):
        p, procs = self.run_child("time.sleep(600)")
        p.kill()
        p.wait()
        # Parent-death signal: SIGTERM to run_all.py (which stops its simulators) and the service.
        self.assertEqual(set(), wait_gone(procs, 60), "processes survived their test process")
        self.assertEqual([], marked(self.mark))


def _running(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


if __name__ == "__main__":
    unittest.main()
