#!/bin/sh
# run.sh - runs each libFuzzer target built by `make fuzz` for SECONDS
# (default 30, at most 120) over its committed seed corpus
# (tests/fuzz/corpus/<name>/, read only) and the inputs it found before
# (_fuzz/corpus/<name>/). Run from the build folder:
#   tests/fuzz/run.sh [SECONDS [TARGET...]]     e.g. tests/fuzz/run.sh 45 config
# A crash, leak, UB report or timeout fails the run; the input that caused
# it is left in _fuzz/artifacts/ and named at the end. Exit 0 when every
# target ran clean.
set -u
here=$(cd "$(dirname "$0")" && pwd)
secs=${1:-30}
[ "$secs" -le 120 ] 2>/dev/null || { echo "run.sh: SECONDS must be a number <= 120, got $secs" >&2; exit 2; }
[ $# -gt 0 ] && shift
targets=${*:-"config llm_reply llm_cache archive checkpoint command_reply"}
mkdir -p _fuzz/artifacts
out=$(cd _fuzz && pwd) # absolute: the targets work in a temp folder of their own
bad=""
for t in $targets; do
    bin=_fuzz/fuzz_$t
    [ -x "$bin" ] || { echo "run.sh: $bin is missing (make fuzz first)" >&2; bad="$bad $t"; continue; }
    mkdir -p "$out/corpus/$t"
    maxlen=16384
    [ "$t" = checkpoint ] && maxlen=262144 # a CMA-MAE checkpoint seed is 190 kB
    echo "::: fuzz $t for ${secs} s"
    if ! ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
        "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
        -max_len=$maxlen -print_final_stats=1 -artifact_prefix="$out/artifacts/$t-" \
        "$out/corpus/$t" "$here/corpus/$t" >"$out/$t.log" 2>&1; then
        bad="$bad $t"
        grep -E "ERROR|SUMMARY|runtime error|Test unit written" "_fuzz/$t.log" | head -20
    fi
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "_fuzz/$t.log" | tr '\n' ' '
    echo
done
if [ -n "$bad" ]; then
    echo "run.sh: failed:$bad (logs in _fuzz/<target>.log, inputs in _fuzz/artifacts/)"
    exit 1
fi
echo "run.sh: every target ran clean"
