#!/usr/bin/env bash
# Installs web/node_modules from web/package-lock.json (npm ci), once per change of the lock
# file: builds call it every time, and it returns at once when the stamp is newer than the
# lock file. A lock (flock) keeps two builds from running npm ci in the same tree at once.
# --ignore-scripts: swagger-ui-dist's dependency @scarf/scarf has an install script that
# only reports the download; nothing we need runs at install time.
set -euo pipefail
cd "$(dirname "$0")"
stamp=node_modules/.stoa-installed
exec 9>.install.lock
flock 9
if [ -f "$stamp" ] && [ "$stamp" -nt package-lock.json ] && [ "$stamp" -nt package.json ] &&
   [ -f node_modules/swagger-ui-dist/swagger-ui-bundle.js ]; then
  exit 0
fi
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
touch "$stamp"
