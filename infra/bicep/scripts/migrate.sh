#!/bin/sh
# Before `azd deploy`: apply the database migrations as the deploying user (a PostgreSQL Entra
# administrator), so that new code never meets an old schema. The Entra token comes from the
# azd or az sign-in through DefaultAzureCredential.
set -eu

if [ -z "${AZURE_PRINCIPAL_NAME:-}" ] || [ -z "${POSTGRES_HOST:-}" ]; then
  echo "skipping migrations: AZURE_PRINCIPAL_NAME or POSTGRES_HOST is not set (see docs/deploy.md)" >&2
  exit 0
fi

python="python3"
if [ -x .venv/bin/python ]; then
  python=".venv/bin/python"
fi

env -u AZURE_CLIENT_ID -u DATABASE_URL \
  POSTGRES_HOST="$POSTGRES_HOST" \
  POSTGRES_DATABASE="${POSTGRES_DATABASE:-logs}" \
  POSTGRES_USER="$AZURE_PRINCIPAL_NAME" \
  "$python" -m shared.migrate
