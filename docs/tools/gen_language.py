#!/usr/bin/env python3
"""Builds docs/language.md from docs/language.src.md: checks every flow block with the real CLI
and fills in its real output, so the analyst guide cannot drift from the tool.

  python3 docs/tools/gen_language.py build/cli/retailflow            # rewrite docs/language.md
  python3 docs/tools/gen_language.py build/cli/retailflow --check    # fail if it is out of date
"""
import json, os, re, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRC = os.path.join(ROOT, "docs", "language.src.md")
DOC = os.path.join(ROOT, "docs", "language.md")
BIN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "build", "cli", "retailflow")
CHECK = "--check" in sys.argv
WORK = tempfile.mkdtemp(prefix="rf-docgen-")
GEN = WORK + "/gen"

PREFIX = """workflow snippet version 1
uses pos, inventory, odoo, notify, fraud
input
  order_ref text
  store_id text
  customer_email text
  lines list
  return_id text
  sale_id text
  refund_amount money
  currency text
  reason text
  transfer_ref text
  from_store text
  to_store text
  stores list
  ready_at time
  damaged bool optional

set snippet_values
  fraud_check = {score = 50},
  platform_stock = {items = []},
  odoo_stock = {items = []}
"""

os.makedirs(GEN)
shutil.copytree(os.path.join(ROOT, "workflows", "connectors"), GEN + "/connectors")
shutil.copytree(os.path.join(ROOT, "docs", "tools", "extra"), GEN + "/extra")

lines = open(SRC).read().split("\n")
out = []
problems = []
i = 0
def run(args):
    p = subprocess.run([BIN] + args, cwd=GEN, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr

while i < len(lines):
    line = lines[i]
    m = re.match(r"<!-- (flow|snippet): (\S+)(.*)-->$", line.strip())
    r = re.match(r"<!-- (out|outonly|stdout): (.*) -->$", line.strip())
    fo = re.match(r"<!-- fmtout: (\S+) -->$", line.strip())
    if fo:
        name = fo.group(1)
        shutil.copy(f"{GEN}/{name}.flow", f"{GEN}/{name}_formatted.flow")
        rc, so, se = run(["fmt", f"{name}_formatted.flow"])
        if rc != 0: problems.append(f"fmtout {name}: {so} {se}")
        rc2, so2, se2 = run(["fmt", "--check", f"{name}_formatted.flow"])
        if rc2 != 0: problems.append(f"fmtout {name}: formatted output is not fmt-stable")
        out.append("```flow")
        out.append(open(f"{GEN}/{name}_formatted.flow").read().rstrip("\n"))
        out.append("```")
        i += 1
        continue
    if m:
        kind, name, rest = m.group(1), m.group(2), m.group(3)
        opts = dict(kv.split("=", 1) for kv in rest.split())
        assert lines[i + 1].startswith("```flow"), (name, lines[i + 1])
        j = i + 2
        body = []
        while not lines[j].startswith("```"):
            body.append(lines[j]); j += 1
        text = "\n".join(body) + "\n"
        if kind == "snippet":
            ends = [e for e in opts.get("ends", "").split(",") if e]
            text = PREFIX + text + "".join(f'fail {e} "end"\n' for e in ends)
        path = f"{GEN}/{name}.flow"
        open(path, "w").write(text)
        args = ["check", f"{name}.flow", "--format", "json"]
        if "catalog" in opts: args += ["--catalog", opts["catalog"]]
        rc, so, se = run(args)
        try:
            diags = json.loads(so)
        except Exception:
            diags = None
            problems.append(f"{name}: no json: {so} {se}")
        expect = opts.get("expect", "ok")
        codes = [d["code"] for d in diags or []]
        errs = [d["code"] for d in diags or [] if d["severity"] == "error"]
        if kind == "snippet":
            if errs: problems.append(f"{name}: snippet has errors {diags}")
        elif expect == "ok":
            if codes: problems.append(f"{name}: expected clean, got {codes}")
            rc2, so2, se2 = run(["fmt", "--check", f"{name}.flow"])
            if rc2 != 0 and opts.get("fmt") != "no": problems.append(f"{name}: not fmt-clean")
        else:
            if expect not in codes: problems.append(f"{name}: expected {expect}, got {codes}")
        i = i + 1  # drop the directive line, keep the block
        continue
    if r:
        kind, cmd = r.group(1), r.group(2)
        rc, so, se = run(cmd.split())
        text = (so if kind == "stdout" else se if kind == "outonly" else so + se).rstrip("\n")
        text = text.replace(GEN + "/", "")
        out.append("```text")
        out.append(text)
        out.append("```")
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
    if open(DOC).read() != text:
        print("docs/language.md is out of date: run python3 docs/tools/gen_language.py")
        sys.exit(1)
    print("docs/language.md: every example checked, and the page is up to date")
else:
    open(DOC, "w").write(text)
    print("all blocks verified; docs/language.md rewritten")
