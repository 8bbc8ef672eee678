#!/usr/bin/env bash
# Fuzzing of the model server over HTTP, the long form: INPUTS mutated infer request bodies and INPUTS mutated request
# lines (paths and methods of every route) from a fixed SEED, against a real ModelServer serving the tiny test model
# with the defaults of `pollard serve`, in a JVM of its own with -Xmx256m (ServeFuzzTest starts ServeFuzzer there; the
# test suite runs the same with 400 inputs). Prints the fuzzer's table: per kind, inputs, answers by status class (501
# only to request lines of an HTTP version other than 1.0 and 1.1, which Vert.x refuses before the server's handler),
# 5xx the server does not document, requests without an answer, answers whose body is not the documented JSON, errors
# the server logged, OutOfMemoryErrors, seconds; then the server after the run (live, ready, inferring, no admission
# held) and /metrics (well-formed, series bounded by routes and status codes, not by the paths requested). Requests
# that did not end as documented are kept in target/serve-fuzz-failures/; the exit status is non-zero when there is one.
#   bench/serve-fuzz.sh [INPUTS] [SEED]     (default 10000 20251202; about a minute on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
inputs="${1:-10000}"
seed="${2:-20251202}"
rm -rf target/serve-fuzz.txt target/serve-fuzz-failures
log="$(mktemp)"
status=0
mvn -B test -Dtest=ServeFuzzTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Dpollard.fuzz.inputs="$inputs" -Dpollard.fuzz.seed="$seed" >"$log" 2>&1 || status=$?
if [[ -f target/serve-fuzz.txt ]]; then
  grep -v '^    at ' target/serve-fuzz.txt
else
  cat "$log"
fi
echo "on $(nproc) CPU cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(java -version 2>&1 | head -1)"
rm -f "$log"
exit "$status"
