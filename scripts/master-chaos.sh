#!/usr/bin/env bash
# The master chaos script for game days: runs a game day through the cloudcafe CLI.
#
#   scripts/master-chaos.sh [gameday] [--platform local|kubernetes|aws] [--dry-run]
#
# On the local platform it brings the lab up first (healing leftovers of a crashed run) and
# leaves it up afterwards, so people can look around; `npx cloudcafe lab down` ends it.
# The exit code is the game day's verdict.
set -euo pipefail
cd "$(dirname "$0")/.."

gameday=default
if [ $# -gt 0 ] && [[ $1 != --* ]]; then
  gameday=$1
  shift
fi
platform=local
for ((i = 1; i <= $#; i++)); do
  if [ "${!i}" = --platform ]; then
    next=$((i + 1))
    platform=${!next:-local}
  fi
done

if [ "$platform" = local ]; then
  bash scripts/bootstrap
  npx cloudcafe lab up
fi
exec npx cloudcafe gameday "$gameday" "$@"
