#!/usr/bin/env bash
# Nightly Tideline run for cron: one run at a time (flock), a log file per day, old logs removed.
#
#   TIDELINE_PROJECT   the project folder (required)
#   TIDELINE_BIN       how to call tideline (default: the project's node_modules/.bin/tideline, else tideline on PATH)
#   TIDELINE_LOG_DIR   where logs go (default: $TIDELINE_PROJECT/logs)
#   TIDELINE_KEEP_DAYS days of logs to keep (default: 14)
#   TIDELINE_LOCK      the lock file (default: $TIDELINE_PROJECT/.tideline/cron.lock)
#
# Exit codes are Tideline's (0 ok, 1 a run or sync failed, 2 configuration error); 75 when another run holds the lock.
set -uo pipefail

project="${TIDELINE_PROJECT:?set TIDELINE_PROJECT to the project folder}"
tideline="${TIDELINE_BIN:-}"
if [ -z "$tideline" ]; then
  tideline=tideline
  [ -x "$project/node_modules/.bin/tideline" ] && tideline="$project/node_modules/.bin/tideline"
fi
log_dir="${TIDELINE_LOG_DIR:-$project/logs}"
keep_days="${TIDELINE_KEEP_DAYS:-14}"
lock="${TIDELINE_LOCK:-$project/.tideline/cron.lock}"

mkdir -p "$log_dir" "$(dirname "$lock")"
exec 9>"$lock"
if ! flock -n 9; then
  echo "tideline-nightly: another run holds $lock; not starting" >&2
  exit 75
fi

log="$log_dir/tideline-$(date -u +%Y-%m-%d).log"
(
  echo "{\"level\":\"info\",\"time\":\"$(date -u +%FT%TZ)\",\"msg\":\"tideline-nightly: start\"}"
  $tideline --project "$project" --log-format json run
  status=$?
  if [ "$status" -eq 0 ]; then
    $tideline --project "$project" --log-format json sync
    status=$?
  fi
  echo "{\"level\":\"info\",\"time\":\"$(date -u +%FT%TZ)\",\"msg\":\"tideline-nightly: end\",\"exit\":$status}"
  exit "$status"
) >>"$log" 2>&1
status=$?

# Log rotation: one file per day, the oldest removed.
find "$log_dir" -maxdepth 1 -name 'tideline-*.log' -type f -mtime +"$keep_days" -delete
exit "$status"
