#!/usr/bin/env bash
# A policy author's workflow with the lexecon CLI: validate, test, load into a running server, and
# record a signed test run there (EU AI Act Annex IV 2.g evidence).
#
#   LEXECON_URL=http://127.0.0.1:8000 LEXECON_TOKEN=<session token> examples/policy-author.sh \
#     [policy.json] [cases.json]
#
# LEXECON_TOKEN: a session token of a governance_lead or admin (POST /auth/login answers it as `token`).
# LEXECON_CLI:   how to run the CLI (default: `node --import tsx src/cli.ts` in a development checkout,
#                else `node dist/cli.js`; with a global install: `lexecon`).
# Stops at the first failing step (exit 1 invalid policy or failing case, 2 error).
set -euo pipefail
cd "$(dirname "$0")/.."

POLICY=${1:-examples/policies/support-agent.json}
CASES=${2:-${POLICY%.json}.cases.json}
URL=${LEXECON_URL:-http://127.0.0.1:8000}
: "${LEXECON_TOKEN:?set LEXECON_TOKEN to a session token of a governance_lead or admin (POST /auth/login)}"

if [ -n "${LEXECON_CLI:-}" ]; then
  read -r -a CLI <<<"$LEXECON_CLI"
elif [ -d node_modules/tsx ]; then
  CLI=(node --import tsx src/cli.ts)
else
  CLI=(node dist/cli.js)
fi
lexecon() { "${CLI[@]}" "$@"; }

echo "== 1. validate: is the document a well-formed policy? (nothing is loaded)"
lexecon validate-policy --policy-file "$POLICY"

echo "== 2. test: does it decide what we expect? (offline, the real engine)"
lexecon test-policy --policy-file "$POLICY" --cases "$CASES"

echo "== 3. load: make it the active policy on $URL (ledgered as policy_loaded)"
lexecon load-policy --policy-file "$POLICY" --url "$URL" --token "$LEXECON_TOKEN"

echo "== 4. record: the server re-runs the cases against the loaded version and signs the run"
lexecon test-policy --policy-file "$POLICY" --cases "$CASES" --record --url "$URL" --token "$LEXECON_TOKEN"
