#!/usr/bin/env bash
# Install the project and run the bundled Japan demo end to end; outputs go to demo-out/ (or $1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/exposure demo --out "${1:-demo-out}"
