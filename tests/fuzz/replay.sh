#!/usr/bin/env bash
# ctest fuzz_corpus: replays each fuzz target's corpus. Arguments: pairs of (binary, corpus dir).
set -euo pipefail
while [ $# -ge 2 ]; do
  echo "$(basename "$1"): $("$1" "$2")"
  shift 2
done
