"""Starting and stopping one simulator (examples/sim) as a subprocess on a free port, for tests."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def start_sim(script, *args):
    """Runs examples/sim/<script> on port 0; returns (process, base URL) once it listens."""
    p = subprocess.Popen([sys.executable, os.path.join(ROOT, "examples", "sim", script), "--port", "0", *args],
                         stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line.startswith("LISTENING "):
        p.kill()
        raise RuntimeError("simulator did not start: %r" % line)
    return p, "http://127.0.0.1:%d" % int(line.split()[1])


def stop(p):
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    p.stdout.close()
