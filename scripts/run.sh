#!/usr/bin/env bash
# Quick start, first command — the main job: installs what is missing, builds, checks the shipped
# retail workflows strictly (and draws them under build/graphs/), then runs the retail demo
# (examples/demo/demo.py): the simulators on their default ports, `retailflow serve` on its
# embedded default (127.0.0.1:8080, ./data, ./workflows), a day of returns, click-and-collect
# orders, transfers and reconciliations with an Odoo outage, and a summary. The service and the
# simulators keep running until Ctrl-C. Arguments go to the demo: --scale 0.1, --no-wait, --ports auto.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
rf=build/cli/retailflow
echo "== Checking the shipped workflows"
"$rf" check --strict workflows/*.flow
mkdir -p build/graphs
for flow in workflows/*.flow; do
  name=$(basename "$flow" .flow)
  "$rf" graph "$flow" > "build/graphs/$name.dot"
  "$rf" graph --format mermaid "$flow" > "build/graphs/$name.mmd"
  dot -Tsvg "build/graphs/$name.dot" -o "build/graphs/$name.svg"
done
echo "   drawn: build/graphs/*.svg (.dot, .mmd beside them)"
exec python3 examples/demo/demo.py "$@"
