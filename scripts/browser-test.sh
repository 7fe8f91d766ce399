#!/usr/bin/env bash
# The report page in a real browser: builds the release binary once, writes
# reports of a failover run, a truncation run, a consumer-group run and a large
# run (3,600 s simulated, over a million messages), opens each in headless
# Chromium from disk (file://, no server, no network) in its self-test mode
# (index.html#selftest) and fails unless the page says PASS. The self-test
# checks that the message diagram, the partition logs, the groups and the
# verdict rendered, follows an anomaly link (one leading into a chunk of the
# trace the page did not open with, if there is one; with no anomaly it jumps
# to the run's end), checks the chunks there loaded and the window shows them,
# and fails on any JavaScript error or console.error. A screenshot of each
# report is saved.
#
# The large run's index.html must stay under PAGE_BYTES_MAX (50 MB) and the
# page must open within FIRST_WINDOW_BOUND_MS (10 s): its first window, timed
# with performance.now() inside the page from navigation start, and the whole
# self-test, browser start included, timed from outside.
#
# Usage: bash scripts/browser-test.sh
# Environment: CHROMIUM (the browser to use; default: chromium on the PATH),
# FIRST_WINDOW_BOUND_MS, OUT_DIR (where reports and screenshots go; default
# target/browser-test), CARGO_TARGET_DIR (as cargo reads it).
set -euo pipefail
cd "$(dirname "$0")/.."

FIRST_WINDOW_BOUND_MS=${FIRST_WINDOW_BOUND_MS:-10000}
PAGE_BYTES_MAX=${PAGE_BYTES_MAX:-$((50 * 1024 * 1024))}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
OUT_DIR=${OUT_DIR:-$TARGET_DIR/browser-test}
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}

if [ -z "$CHROMIUM" ]; then
  echo "browser-test: no chromium on the PATH; install it (Debian: apt-get install -y chromium) or set CHROMIUM" >&2
  exit 1
fi

echo "== building the release binary"
cargo build --release -p kafkasim-tools --bin kafkasim
BIN="$TARGET_DIR/release/kafkasim"

rm -rf "$OUT_DIR"
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
PROFILE=$(mktemp -d)
trap 'rm -rf "$PROFILE"' EXIT

browser() {
  timeout 180 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --user-data-dir="$PROFILE" --hide-scrollbars "$@" 2>/dev/null
}

# report NAME ARGS...: runs kafkasim with --report into OUT_DIR/NAME. A run's
# own verdict (exit 1 for a lost write) is not this test's business.
report() {
  local name=$1
  shift
  local code=0
  "$BIN" run "$@" --report "$OUT_DIR/$name" >"$OUT_DIR/$name.txt" || code=$?
  if [ "$code" -gt 1 ]; then
    echo "browser-test: kafkasim run $* exited $code" >&2
    cat "$OUT_DIR/$name.txt" >&2
    exit 1
  fi
  "$BIN" report-check "$OUT_DIR/$name"
}

# selftest NAME [BOUND_MS]: opens the report in self-test mode; prints the
# result. The virtual time budget lets the page load the script files it asks
# for (chunks, partitions) before the DOM is dumped; it is time the page may
# wait, not time it takes. With BOUND_MS the whole self-test, browser start
# included, must end within it, by the wall clock.
selftest() {
  local name=$1 hash=selftest
  if [ $# -gt 1 ]; then hash="selftest&bound=$2"; fi
  local result start_ns wall_ms
  start_ns=$(date +%s%N)
  result=$(browser --virtual-time-budget=60000 --dump-dom "file://$OUT_DIR/$name/index.html#$hash" |
    grep -o '<pre id="selftest">[^<]*' | sed 's/<pre id="selftest">//' || true)
  wall_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
  if [ $# -gt 1 ] && [ "$wall_ms" -gt "$2" ]; then
    echo "FAIL $name: the self-test took $wall_ms ms by the wall clock, over the bound of $2 ms" >&2
    exit 1
  fi
  result="$result | wall-ms=$wall_ms"
  if [ -z "$result" ]; then
    echo "FAIL $name: the page wrote no self-test result (did its script run?)" >&2
    exit 1
  fi
  echo "$name: $result"
  case "$result" in
    PASS*) ;;
    *) echo "FAIL $name" >&2; exit 1 ;;
  esac
}

# screenshot NAME HASH HEIGHT: a PNG of the report, as a browser window shows it.
screenshot() {
  browser --window-size="1400,$3" --virtual-time-budget=10000 \
    --screenshot="$OUT_DIR/$1.png" "file://$OUT_DIR/$1/index.html#$2" >/dev/null
  test -s "$OUT_DIR/$1.png" || { echo "FAIL $1: no screenshot" >&2; exit 1; }
  echo "$1: screenshot $OUT_DIR/$1.png"
}

echo "== a failover with an anomaly Kafka allows (acks=1)"
report acks-1-failover --seed 1 --scenario acks-1-failover
selftest acks-1-failover
screenshot acks-1-failover "anomaly=0" 1300

echo "== a lost acknowledged write (truncation to the high watermark)"
report kip-101 --seed 1 --scenario kip-101-high-watermark-truncation
selftest kip-101
screenshot kip-101 "anomaly=0" 1300

echo "== a consumer group rebalancing after a crash"
report consumer-crash --seed 1 --scenario consumer-crash
selftest consumer-crash
screenshot consumer-crash "show=verdict,diagram,groups" 1100

echo "== a large run: standard, seed 29, a 3,600 s safety phase"
report large --seed 29 --scenario standard --safety-phase-s 3600
messages=$(grep -o '"messages":[0-9]*' "$OUT_DIR/large/summary.json" | head -n 1 | cut -d: -f2)
if [ "${messages:-0}" -lt 1000000 ]; then
  echo "FAIL large: only ${messages:-0} messages; the large run needs 1,000,000 or more" >&2
  exit 1
fi
page_bytes=$(stat -c %s "$OUT_DIR/large/index.html")
if [ "$page_bytes" -gt "$PAGE_BYTES_MAX" ]; then
  echo "FAIL large: index.html is $page_bytes bytes, over $PAGE_BYTES_MAX" >&2
  exit 1
fi
echo "large: $messages messages, index.html $(du -h "$OUT_DIR/large/index.html" | cut -f1), report $(du -sh "$OUT_DIR/large" | cut -f1)"
selftest large "$FIRST_WINDOW_BOUND_MS"
screenshot large "" 1300

echo "== browser test passed; reports and screenshots in $OUT_DIR"
