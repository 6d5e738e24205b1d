#!/usr/bin/env bash
# `npm run preview|up|destroy|refresh`: plain `pulumi <command>` made to work on a fresh machine without a
# Pulumi account:
# - if no backend is chosen (no PULUMI_BACKEND_URL and `pulumi whoami` fails), log in to a project-local file
#   backend in .pulumi-state/;
# - if PULUMI_CONFIG_PASSPHRASE is unset, use the dev stack's documented passphrase (README: Secrets);
# - select the dev stack (or $PULUMI_STACK), creating it when it does not exist, without prompting.
# Anything after the command is passed to pulumi (e.g. `npm run up -- --yes`).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v pulumi >/dev/null || { echo "The Pulumi CLI is not installed: see README, Prerequisites." >&2; exit 2; }
action="$1"; shift
stack="${PULUMI_STACK:-dev}"
if [ -z "${PULUMI_BACKEND_URL:-}" ] && ! pulumi whoami --non-interactive >/dev/null 2>&1; then
    mkdir -p .pulumi-state
    pulumi login --non-interactive "file://$PWD/.pulumi-state" >/dev/null
fi
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    # Only for the local dev stack: its secrets are generated passwords for containers on 127.0.0.1.
    export PULUMI_CONFIG_PASSPHRASE="mysql-replicaset-dev"
fi
pulumi stack select --non-interactive --create "$stack" >/dev/null
# At a terminal, pulumi asks before it changes anything; elsewhere (CI, no stdin) it must be told --yes.
interactive=()
[ -t 0 ] && [ -t 1 ] || interactive=(--non-interactive)
exec pulumi "$action" ${interactive[@]+"${interactive[@]}"} --stack "$stack" "$@"
