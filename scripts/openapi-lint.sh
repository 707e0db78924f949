#!/usr/bin/env bash
# Lints CyberHub's OpenAPI documents (docs/openapi/core.json and ai.json) with Redocly's recommended rules and
# the exceptions in tools/openapi/redocly.yaml (each with its reason). Fails on any error or warning.
#
# The linter is pinned in tools/openapi/package-lock.json and installed with `npm ci` when missing or changed
# (Node.js and npm from the machine). The documents themselves are checked against what the services serve by
# tests/CyberHub.Contract.Tests (OpenApiDocumentTests); refresh them with scripts/openapi-update.sh.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../tools/openapi"

stamp=node_modules/.package-lock.json
if [[ ! -f "$stamp" ]] || ! cmp -s package-lock.json .installed-lock.json 2>/dev/null; then
    echo "[openapi] npm ci (tools/openapi)" >&2
    npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2
    cp package-lock.json .installed-lock.json
fi

output="$(NO_UPDATE_NOTIFIER=1 REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
    node_modules/.bin/redocly lint ../../docs/openapi/core.json ../../docs/openapi/ai.json \
        --config redocly.yaml --max-problems 1000 --format=stylish 2>&1)" && rc=0 || rc=$?
# Redocly's notice about Node.js versions is a box drawn with these characters; the findings are what matter.
grep -v '[║╔╚]' <<<"$output" | sed '/^[[:space:]]*$/d' >&2

if ((rc != 0)) || grep -qE '[0-9]+ warnings?\.|^ *[0-9]+:[0-9]+ +warning' <<<"$output"; then
    echo "[openapi] lint failed: fix the document (or, with a reason, tools/openapi/redocly.yaml)" >&2
    exit 1
fi
echo "[openapi] lint passed" >&2
