#!/usr/bin/env python3
"""Builds docs/testing.md from docs/testing.src.md: writes every example file, runs the real
`retailflow test` on it and fills in its real output, so the guide cannot drift from the tool.

  python3 docs/tools/gen_testing.py build/cli/retailflow            # rewrite docs/testing.md
  python3 docs/tools/gen_testing.py build/cli/retailflow --check    # fail if it is out of date

Directives in the source (each followed by a fenced block, or replaced by one):
  <!-- file: PATH -->            the next fenced block is written to PATH (relative to a copy of
                                 the repository's workflows/ folder, the examples' working folder)
  <!-- run: ARGS expect=N -->    runs `retailflow ARGS` there; its exit code must be N; its output
                                 (stdout and stderr) becomes a text block
"""
import os, re, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRC = os.path.join(ROOT, "docs", "testing.src.md")
DOC = os.path.join(ROOT, "docs", "testing.md")
BIN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "build", "cli", "retailflow")
CHECK = "--check" in sys.argv
WORK = tempfile.mkdtemp(prefix="rf-testdoc-")
GEN = WORK + "/workflows"
shutil.copytree(os.path.join(ROOT, "workflows"), GEN)

lines = open(SRC).read().split("\n")
out, problems = [], []
i = 0
while i < len(lines):
    line = lines[i]
    f = re.match(r"<!-- file: (\S+) -->$", line.strip())
    r = re.match(r"<!-- run: (.*?) expect=(\d+) -->$", line.strip())
    if f:
        assert lines[i + 1].startswith("```"), (f.group(1), lines[i + 1])
        j = i + 2
        body = []
        while not lines[j].startswith("```"):
            body.append(lines[j]); j += 1
        path = os.path.join(GEN, f.group(1))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "w").write("\n".join(body) + "\n")
        i += 1  # drop the directive, keep the block
        continue
    if r:
        args, want = r.group(1).split(), int(r.group(2))
        p = subprocess.run([BIN] + args, cwd=GEN, capture_output=True, text=True)
        if p.returncode != want:
            problems.append(f"`retailflow {r.group(1)}` exited {p.returncode}, the guide says {want}:\n{p.stdout}{p.stderr}")
        text = (p.stderr + p.stdout).rstrip("\n").replace(GEN + "/", "")
        # Wall times (JUnit's time="...") differ from run to run: the page shows them as "…".
        text = re.sub(r'time="[0-9.]+"', 'time="…"', text)
        out += ["```text", "$ retailflow " + r.group(1) + "   # exit code " + str(p.returncode), text, "```"]
        i += 1
        continue
    out.append(line)
    i += 1

text = "\n".join(out)
shutil.rmtree(WORK, ignore_errors=True)
if problems:
    print("\n".join(problems))
    sys.exit(1)
if CHECK:
    if not os.path.exists(DOC) or open(DOC).read() != text:
        print("docs/testing.md is out of date: run python3 docs/tools/gen_testing.py build/cli/retailflow")
        sys.exit(1)
    print("docs/testing.md: every example ran as the guide says, and the page is up to date")
else:
    open(DOC, "w").write(text)
    print("all examples ran; docs/testing.md rewritten")
