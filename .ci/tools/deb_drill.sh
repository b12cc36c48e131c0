#!/usr/bin/env bash
# The release build for users, end to end: `tauri build` (Tauri's own CLI, from npm) builds the
# optimised binary and the .deb, which is installed with apt (dpkg, plus the libraries it depends
# on) and started under Xvfb with an empty home, as on a machine that never ran Simba Tuner; the
# drill passes when the installed program stays up and opens its window. Outside CI: a cold release
# build takes most of half an hour on 2 cores (README, "Build times"). Needs root (it installs and
# removes the package).
#
# The design card keeps tauri.conf.json at the repository's top, beside the CLI's Cargo.toml; the
# tauri CLI wants it beside the app's Cargo.toml and names the binary after that package. So the
# drill writes a copy into src-tauri for the run (paths made relative to src-tauri, bundling on),
# removes it after, and points the CLI there (TAURI_APP_PATH).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash .ci/setup app
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/simba-tuner/target}"
cli="$HOME/.cache/simba-tuner/tauri-cli"
if [ ! -x "$cli/node_modules/.bin/tauri" ]; then
  mkdir -p "$cli"
  npm install --prefix "$cli" --no-audit --no-fund @tauri-apps/cli@2.12.6
fi
(cd ui && npm run build)

conf=src-tauri/tauri.conf.json
# The tauri CLI also rewrites src-tauri/Cargo.toml (it adds `features = []` to tauri-build): the
# drill puts the committed manifest back.
manifest_copy="$(mktemp)"
cp src-tauri/Cargo.toml "$manifest_copy"
cleanup() { rm -f "$conf"; cp "$manifest_copy" src-tauri/Cargo.toml; }
trap cleanup EXIT
python3 - "$conf" <<'PY'
import json, sys
c = json.load(open("tauri.conf.json"))
c["build"]["frontendDist"] = "../" + c["build"]["frontendDist"]
c["bundle"]["icon"] = ["../" + i for i in c["bundle"]["icon"]]
c["bundle"]["active"] = True
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
started=$(date +%s)
TAURI_APP_PATH=src-tauri TAURI_FRONTEND_PATH=ui "$cli/node_modules/.bin/tauri" build --ci --bundles deb
echo "tauri build (release + .deb): $(( $(date +%s) - started )) s"

deb="$(ls -t "$CARGO_TARGET_DIR"/release/bundle/deb/*.deb | head -1)"
echo "package: $deb ($(du -h "$deb" | cut -f1))"
dpkg-deb --info "$deb" | sed -n '/Package:/,/Description:/p'
dpkg-deb --contents "$deb"
apt-get install -y --no-install-recommends "$deb"
package="$(dpkg-deb --field "$deb" Package)"
trap 'cleanup; dpkg -r "$package" >/dev/null 2>&1 || true' EXIT

home="$(mktemp -d)"
display=":$(( 60 + RANDOM % 30 ))"
Xvfb "$display" -screen 0 1280x800x24 >/dev/null 2>&1 &
xvfb=$!
sleep 2
HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_DATA_HOME="$home/.local/share" DISPLAY="$display" \
  /usr/bin/simba-tuner-app >"$home/app.log" 2>&1 &
app=$!
ok=0
for _ in $(seq 1 60); do
  if ! kill -0 "$app" 2>/dev/null; then break; fi
  if DISPLAY="$display" xwininfo -root -tree 2>/dev/null | grep -q '"Simba Tuner"'; then ok=1; break; fi
  sleep 1
done
sleep 5
if [ "$ok" = 1 ] && kill -0 "$app" 2>/dev/null; then
  DISPLAY="$display" import -window root "$home/window.png" 2>/dev/null && echo "screenshot: $home/window.png"
  echo "the installed app is up and its window is open (pid $app, resident $(ps -o rss= -p "$app") KiB)"
  status=0
else
  echo "the installed app did not open its window; its log:"; cat "$home/app.log"
  status=1
fi
kill "$app" 2>/dev/null || true
kill "$xvfb" 2>/dev/null || true
exit "$status"
