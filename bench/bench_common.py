"""What bench/compare_xstate.py and bench/http_start.py share: where the repository and its build
are, running a command that prints one JSON line, medians and ranges, and the table layout.
Python 3 standard library only. Nothing here measures time itself."""

import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.environ.get("RF_BUILD_DIR", os.path.join(ROOT, "build"))


def binary(env_name, *relative):
    """The path in `env_name` if set, else <build>/<relative...>; exits with a clear message when
    it is not an executable (the benchmarks are built by scripts/build.sh)."""
    path = os.environ.get(env_name) or os.path.join(BUILD, *relative)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        sys.exit("%s: not found or not executable (build it: RF_JOBS=1 bash scripts/build.sh, or set %s)"
                 % (path, env_name))
    return path


def json_line(cmd, cwd=None, env=None, stderr=None):
    """Runs `cmd`, returns the last line of its stdout that parses as a JSON object. Exits with the
    command's output when it fails or prints no such line."""
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
    for line in reversed(p.stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if p.returncode == 0:
                return obj
    sys.exit("command failed (status %d): %s\n%s" % (p.returncode, " ".join(cmd), p.stdout[-4000:]))


def median(values):
    return statistics.median(values) if values else float("nan")


def spread(values, fmt):
    """"median (min–max)" of `values`, each formatted with `fmt`."""
    if not values:
        return "n/a"
    return "%s (%s–%s)" % (fmt % median(values), fmt % min(values), fmt % max(values))


def table(header, rows):
    """Prints rows (lists of strings) under `header`: the first column left-aligned, the others
    right-aligned, each as wide as its widest cell."""
    cells = [header] + rows
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for k, r in enumerate(cells):
        print("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        if k == 0:
            print("  " + "  ".join("-" * w for w in widths))
    sys.stdout.flush()


def load_note():
    """The machine's load averages: the figures are only comparable within a run, and a busy
    machine (other builds on the 2 cores) shows in them."""
    one, five, fifteen = os.getloadavg()
    return "load average %.2f %.2f %.2f (1, 5, 15 min) on %d cores" % (one, five, fifteen, os.cpu_count())


def verdict(met):
    return "met" if met else "NOT met"
