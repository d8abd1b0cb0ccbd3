#!/usr/bin/env bash
# One-time machine set-up for running tscc's full test suite: the Debian packages the tests read, then
# the npm dependencies (npm ci also builds dist/ through the `prepare` script).
#   libonnx-testdata   ONNX's backend operator tests (test/onnx-suite)
#   chromium           the headless browser of the report's browser tests (test/report/browser.test.ts)
#   fonts-dejavu-core  the font `tscc report` pages and --format png figures are drawn with
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(libonnx-testdata chromium fonts-dejavu-core)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "setup: installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
npm ci --no-audit --no-fund
