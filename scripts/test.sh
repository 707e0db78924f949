#!/usr/bin/env bash
# Runs every CyberHub test project and ends with one summary line:
#   N passed, N failed, N skipped
#
# Exits non-zero when a test failed, when `dotnet test` itself failed (build
# error, crashed test host, ...) or when no test ran at all.
#
# Settings (environment):
#   CYBERHUB_TEST_SKIP_SERVICES=1  skip scripts/test-services.sh; tests that need
#                                  PostgreSQL/Redis/Chromium then run only if the
#                                  CYBERHUB_TEST_* variables are already set
#   CYBERHUB_TEST_SOLUTION         solution or project to test (default CyberHub.slnx)
#   CYBERHUB_TEST_RESULTS          TRX output directory, emptied first
#                                  (default /tmp/cyberhub-test/results)
# Extra arguments are passed on to `dotnet test`, e.g.
#   scripts/test.sh --filter "FullyQualifiedName~Auth"
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

if [[ "${CYBERHUB_TEST_SKIP_SERVICES:-0}" == 1 ]]; then
    echo "[test] CYBERHUB_TEST_SKIP_SERVICES=1: not provisioning services" >&2
else
    # shellcheck source=scripts/test-services.sh
    source scripts/test-services.sh
fi

solution="${CYBERHUB_TEST_SOLUTION:-CyberHub.slnx}"
results="${CYBERHUB_TEST_RESULTS:-/tmp/cyberhub-test/results}"
# `dotnet test` on the whole solution builds src/CyberHub.Host (with the web app) before any test starts: the
# tests that run the built program need not build it again (tests/CyberHub.Testing/HostProgram.cs).
if [[ "$solution" == CyberHub.slnx && " $* " != *" --no-build "* ]]; then
    export CYBERHUB_TEST_HOST_BUILT=1
fi
rm -rf "$results"
mkdir -p "$results"

dotnet_rc=0
dotnet test "$solution" -c Release \
    --logger "trx;LogFilePrefix=r" \
    --logger "console;verbosity=minimal" \
    --results-directory "$results" \
    "$@" || dotnet_rc=$?

# The published contract: both OpenAPI documents pass the linter (tests/CyberHub.Contract.Tests checks that they are
# what the services serve, and runs the README's journey through clients generated from them).
lint_rc=0
scripts/openapi-lint.sh || lint_rc=$?

# Value of attribute $1 in the <Counters .../> element $2, 0 when absent.
counter() {
    local v
    v="$(sed -n "s/.*[[:space:]]$1=\"\([0-9]*\)\".*/\1/p" <<<"$2")"
    echo "${v:-0}"
}

# Every test project writes one TRX file; its <Counters> element holds the totals.
passed=0 failed=0 skipped=0 trx_count=0
while IFS= read -r -d '' trx; do
    counters="$(grep -o '<Counters [^>]*>' "$trx" | head -n1 || true)"
    [[ -n "$counters" ]] || continue
    trx_count=$((trx_count + 1))
    t=$(counter total "$counters")
    p=$(counter passed "$counters")
    # error/timeout/aborted are failures as well, they are just reported apart.
    f=$(( $(counter failed "$counters") + $(counter error "$counters") \
        + $(counter timeout "$counters") + $(counter aborted "$counters") ))
    # Whatever neither passed nor failed was not run: skipped, inconclusive, ...
    s=$((t - p - f))
    ((s < 0)) && s=0
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
done < <(find "$results" -name '*.trx' -print0)

rc=0
if ((dotnet_rc != 0)); then
    echo "[test] dotnet test exited with code $dotnet_rc" >&2
    rc=1
fi
if ((lint_rc != 0)); then
    echo "[test] the OpenAPI documents failed the lint (scripts/openapi-lint.sh)" >&2
    rc=1
fi
if ((failed > 0)); then
    rc=1
fi
if ((passed + failed == 0)); then
    echo "[test] no test ran ($trx_count result files in $results)" >&2
    rc=1
fi

echo "$passed passed, $failed failed, $skipped skipped"
exit "$rc"
