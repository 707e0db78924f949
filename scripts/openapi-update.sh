#!/usr/bin/env bash
# Writes the OpenAPI documents the services serve over the committed ones (docs/openapi/core.json and ai.json),
# then lints them. Run it after changing an endpoint, and commit the documents with the change: the contract tests
# (tests/CyberHub.Contract.Tests) fail while the committed documents differ from the served ones, and the clients
# they generate are built from the committed documents.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CYBERHUB_OPENAPI_UPDATE=1 dotnet test tests/CyberHub.Contract.Tests -c Release \
    --filter "FullyQualifiedName~OpenApiDocumentTests.The_committed_document_is_the_one_the_service_serves" "$@"
scripts/openapi-lint.sh
git --no-pager diff --stat -- docs/openapi
