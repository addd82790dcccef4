#!/bin/sh
# soak.sh - the long fault-injection soak: tests/test_soak with JOBS QDAIF
# jobs per mode (default 2000; batch and async, 8 workers) while the test
# server fails 30% of the API requests with a random mix of faults. Prints
# per mode the jobs, evaluated, failed, requests and faults, the failure
# reasons with their counts, and the wall time. Run from the build folder
# after make check (or make tests/test_soak):  bench/soak.sh [JOBS]
set -eu
jobs=${1:-2000}
srcdir=$(cd "$(dirname "$0")/.." && pwd)
start=$(date +%s)
ELITES_SOAK_JOBS=$jobs ELITES_SRCDIR=$srcdir tests/test_soak
echo "soak: $jobs jobs per mode in $(( $(date +%s) - start )) s"
