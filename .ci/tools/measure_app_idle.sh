#!/usr/bin/env bash
# The desktop app at rest: the share of one core it uses and its resident memory (its own process,
# and the WebKit processes it starts), over a window, while the sampler reads two saved profiles
# (a Redis and a PostgreSQL) every 10 s and the window shows the Overview. For docs/BENCHMARKS.md;
# not a test (speed is measured, never asserted).
#
#   bash .ci/tools/measure_app_idle.sh APP CLI REDIS_URL POSTGRES_URL [SECONDS]
#
# APP is the simba-tuner-app binary, CLI the simba-tuner binary (to save the profiles). Runs on a
# private Xvfb and throwaway config/data folders; the servers are only read. The models are read
# from the usual models folder (SIMBA_MODELS_DIR, else the user's data folder), as an installed
# app finds them: without them the engine loads nothing and the figure is not the user's.
# SMAPS_TOP=N also prints the app's N largest mappings by resident memory (to stderr).
set -euo pipefail
app=${1:?simba-tuner-app binary}
cli=${2:?simba-tuner binary}
redis_url=${3:?Redis URL}
pg_url=${4:?PostgreSQL URL}
window=${5:-60}

models=${SIMBA_MODELS_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/simba-tuner/models}
[[ -d $models ]] || echo "note: no models folder at $models; the engine will report them missing" >&2
tmp=$(mktemp -d)
cleanup() {
  [[ -n "${app_pid:-}" ]] && kill "$app_pid" 2>/dev/null || true
  [[ -n "${xvfb_pid:-}" ]] && kill "$xvfb_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
export SIMBA_CONFIG_DIR=$tmp/config SIMBA_DATA_DIR=$tmp/data XDG_CONFIG_HOME=$tmp/xdg-config XDG_DATA_HOME=$tmp/xdg-data
export XDG_CACHE_HOME=$tmp/xdg-cache SIMBA_REDIS_URL= SIMBA_POSTGRES_URL= SIMBA_CELERY_BROKER_URL=
export SIMBA_MODELS_DIR=$models
"$cli" profile add cache --redis "$redis_url" >/dev/null
"$cli" profile add warehouse --postgres "$pg_url" >/dev/null

Xvfb :97 -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
sleep 1
DISPLAY=:97 "$app" >"$tmp/app.log" 2>&1 &
app_pid=$!
echo "warming up 30 s (the window loads, the first samples are taken)" >&2
sleep 30

# The app and every process below it (WebKitWebProcess, WebKitNetworkProcess).
tree() {
  local pids=("$app_pid") i=0
  while ((i < ${#pids[@]})); do
    for c in $(cat /proc/"${pids[$i]}"/task/*/children 2>/dev/null); do pids+=("$c"); done
    i=$((i + 1))
  done
  echo "${pids[@]}"
}
ticks() { # utime + stime of the given pids, in clock ticks
  local sum=0 p
  for p in "$@"; do
    [[ -r /proc/$p/stat ]] || continue
    read -r -a f <<<"$(sed 's/^.*) //' /proc/"$p"/stat)"
    sum=$((sum + f[11] + f[12]))
  done
  echo "$sum"
}
rss_kib() { awk -v k="${2:-VmRSS}:" '$1 == k {print $2}' /proc/"$1"/status 2>/dev/null || echo 0; }

pids=($(tree))
t0=$(ticks "${pids[@]}")
own0=$(ticks "$app_pid")
sleep "$window"
t1=$(ticks "${pids[@]}")
own1=$(ticks "$app_pid")
hz=$(getconf CLK_TCK)
total_rss=0
for p in "${pids[@]}"; do total_rss=$((total_rss + $(rss_kib "$p"))); done
own_rss=$(rss_kib "$app_pid")
own_anon=$(rss_kib "$app_pid" RssAnon)
own_file=$(rss_kib "$app_pid" RssFile)
if [[ -n "${SMAPS_TOP:-}" ]]; then
  # Resident memory by mapping (a file, or [heap], [anon] for unnamed anonymous memory).
  awk '/^[0-9a-f]+-[0-9a-f]+ / {name = (NF >= 6 ? $6 : "[anon]")} $1 == "Rss:" {rss[name] += $2}
    END {for (n in rss) printf "%9.1f MiB  %s\n", rss[n] / 1024, n}' /proc/"$app_pid"/smaps | sort -rn | head -n "$SMAPS_TOP" >&2
fi
samples=$(grep -c "sampling every" "$tmp/app.log" || true)
awk -v a="$own0" -v b="$own1" -v A="$t0" -v B="$t1" -v hz="$hz" -v w="$window" -v own="$own_rss" -v all="$total_rss" \
  -v anon="$own_anon" -v file="$own_file" \
  -v n="${#pids[@]}" 'BEGIN {
  printf "{\"window_s\": %d, \"app_cpu_percent_of_one_core\": %.2f, \"all_cpu_percent_of_one_core\": %.2f, ", w, 100*(b-a)/hz/w, 100*(B-A)/hz/w
  printf "\"app_rss_mib\": %.1f, \"app_rss_anon_mib\": %.1f, \"app_rss_file_mib\": %.1f, ", own/1024, anon/1024, file/1024
  printf "\"all_rss_mib\": %.1f, \"processes\": %d}\n", all/1024, n
}'
echo "sampler started: $samples" >&2
