#!/usr/bin/env bash
# The book's pictures of run reports: writes real reports of a failover
# (acks-1-failover), a truncation (kip-101-high-watermark-truncation) and a
# rebalance (consumer-crash), all with seed 1, and takes a screenshot of each
# with headless Chromium into book/src/images/.
#
# Usage: bash scripts/report-screenshots.sh
# Environment: CHROMIUM (default: chromium on the PATH), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET_DIR=${CARGO_TARGET_DIR:-target}
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
IMAGES=book/src/images

if [ -z "$CHROMIUM" ]; then
  echo "report-screenshots: no chromium on the PATH; install it (Debian: apt-get install -y chromium) or set CHROMIUM" >&2
  exit 1
fi

echo "== building the release binary"
cargo build --release -p kafkasim-tools --bin kafkasim
BIN="$TARGET_DIR/release/kafkasim"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$IMAGES"

# shot IMAGE SCENARIO HASH HEIGHT: a report of seed 1 of SCENARIO, opened at
# index.html#HASH in a 1200-pixel-wide window, saved as IMAGES/IMAGE.png.
shot() {
  local image=$1 scenario=$2 hash=$3 height=$4
  "$BIN" run --seed 1 --scenario "$scenario" --report "$WORK/$image" >/dev/null || true
  "$BIN" report-check "$WORK/$image" >/dev/null
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --user-data-dir="$WORK/profile" --hide-scrollbars --window-size="1200,$height" \
    --virtual-time-budget=10000 --screenshot="$IMAGES/$image.png" \
    "file://$WORK/$image/index.html#$hash" >/dev/null 2>&1
  test -s "$IMAGES/$image.png" || { echo "report-screenshots: no $image.png" >&2; exit 1; }
  echo "$IMAGES/$image.png ($scenario, #$hash)"
}

shot report-failover acks-1-failover "anomaly=0&show=verdict,diagram" 900
shot report-truncation kip-101-high-watermark-truncation "anomaly=0&show=verdict,partitions" 720
shot report-rebalancing consumer-crash "show=diagram,groups" 900
