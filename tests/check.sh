#!/usr/bin/env bash
# FEBLAM's full check on a fresh machine: install what is missing, build, run every test suite.
# README.md names this command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the build and the C++ tests need (SQLite's headers, doctest). Installed only
# when missing, as root.
if ! dpkg -s doctest-dev libsqlite3-dev >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq doctest-dev libsqlite3-dev g++ >/dev/null
    else
        echo "doctest-dev or libsqlite3-dev is missing:" \
             "run 'sudo apt-get install doctest-dev libsqlite3-dev' first" >&2
        exit 1
    fi
fi

JOBS="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
export CMAKE_BUILD_PARALLEL_LEVEL="$JOBS"

echo "== install feblam (warnings as errors) with test and bench extras"
FEBLAM_WERROR=1 python -m pip install -q -e '.[test,bench]'

echo "== C++ unit tests"
cmake -S . -B build/ctest -DFEBLAM_TESTS=ON -DFEBLAM_PYTHON=OFF -DFEBLAM_WERROR=ON \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/ctest -j "$JOBS"
ctest --test-dir build/ctest --output-on-failure

echo "== C++ unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build/asan -DFEBLAM_TESTS=ON -DFEBLAM_PYTHON=OFF -DFEBLAM_SANITIZE=ON \
      -DFEBLAM_WERROR=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build/asan -j "$JOBS"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build/asan --output-on-failure

echo "== C++ unit tests under ThreadSanitizer"
cmake -S . -B build/tsan -DFEBLAM_TESTS=ON -DFEBLAM_PYTHON=OFF -DFEBLAM_SANITIZE_THREAD=ON \
      -DFEBLAM_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/tsan -j "$JOBS"
TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build/tsan --output-on-failure

echo "== static typing"
python -m mypy

echo "== Python tests"
python -m pytest -q
