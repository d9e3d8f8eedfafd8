#!/usr/bin/env bash
# `npm test`: system packages, a fresh build, lint, then every test (unit, integration, golden, reliability).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
npm run build
npm run lint
npx vitest run --passWithNoTests "$@"
# Scaled real-time tests through PTYs, alone (see vitest.config.ts).
BENCH_REALTIME=1 npx vitest run --passWithNoTests "$@"
