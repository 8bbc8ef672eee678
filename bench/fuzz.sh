#!/usr/bin/env bash
# Fuzzing of every parser a tenant can feed, the long form: INPUTS mutated inputs per parser (the IDX, NPY, NPZ and CSV
# dataset readers and the ONNX loader) from a fixed SEED, in a JVM of its own with -Xmx256m (ParserFuzzTest starts
# ParserFuzzer there; the test suite runs the same with 600 inputs). Prints the fuzzer's table: per parser, inputs,
# rejected with the documented error, accepted, crashes, rejections whose message is not one line naming the file,
# OutOfMemoryErrors, seconds. Inputs that did not end as documented are kept in target/parser-fuzz-crashes/; the exit
# status is non-zero when there is one.
#   bench/fuzz.sh [INPUTS] [SEED]     (default 10000 20251202; about 2 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
inputs="${1:-10000}"
seed="${2:-20251202}"
rm -rf target/parser-fuzz.txt target/parser-fuzz-crashes
log="$(mktemp)"
status=0
mvn -B test -Dtest=ParserFuzzTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Dpollard.fuzz.inputs="$inputs" -Dpollard.fuzz.seed="$seed" >"$log" 2>&1 || status=$?
if [[ -f target/parser-fuzz.txt ]]; then
  grep -v '^    at ' target/parser-fuzz.txt
else
  cat "$log"
fi
echo "on $(nproc) CPU cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(java -version 2>&1 | head -1)"
rm -f "$log"
exit "$status"
