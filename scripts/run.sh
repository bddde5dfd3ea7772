#!/usr/bin/env bash
# Quick start, first command: installs what is missing, builds, then checks the shipped retail
# workflows strictly and draws each as a picture (DOT, Mermaid and SVG under build/graphs/).
# When the service lands (issue: `retailflow serve`), this starts it on its embedded default.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
rf=build/cli/retailflow
echo "== Checking the shipped workflows"
"$rf" check --strict workflows/*.flow
mkdir -p build/graphs
echo "== Drawing them"
for flow in workflows/*.flow; do
  name=$(basename "$flow" .flow)
  "$rf" graph "$flow" > "build/graphs/$name.dot"
  "$rf" graph --format mermaid "$flow" > "build/graphs/$name.mmd"
  dot -Tsvg "build/graphs/$name.dot" -o "build/graphs/$name.svg"
  echo "   build/graphs/$name.svg  (.dot, .mmd beside it)"
done
