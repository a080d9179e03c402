#!/bin/sh
# Before `azd provision`: keep a random cursor-signing key in the azd environment, and record who
# deploys (made PostgreSQL Entra administrator) and from which address, so that the predeploy
# hook can apply the migrations. Nothing here is required by a plain `az deployment`.
set -eu

if [ -z "${CURSOR_SECRET:-}" ]; then
  azd env set CURSOR_SECRET "$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
fi

if [ -z "${API_KEYS:-}" ]; then
  echo "note: API_KEYS is not set; no key can ingest or read until it is (see docs/deploy.md)" >&2
fi

if [ -z "${AZURE_PRINCIPAL_NAME:-}" ] && command -v az >/dev/null 2>&1; then
  name="$(az ad signed-in-user show --query userPrincipalName -o tsv 2>/dev/null || true)"
  if [ -n "$name" ]; then
    azd env set AZURE_PRINCIPAL_NAME "$name"
  fi
fi

if [ -z "${POSTGRES_CLIENT_IP:-}" ] && [ "${POSTGRES_ALLOW_DEPLOYER_IP:-true}" = "true" ]; then
  ip="$(curl -fsS --max-time 10 https://api.ipify.org 2>/dev/null || true)"
  if [ -n "$ip" ]; then
    azd env set POSTGRES_CLIENT_IP "$ip"
  fi
fi
