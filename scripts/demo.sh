#!/usr/bin/env bash
# make demo: the hub and one edge agent on embedded defaults (SQLite, files on disk, the bundled clip).
# Everything lands in var/demo; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/.venv/bin
DEMO=$ROOT/var/demo
HUB_PORT=${MINGCHU_DEMO_PORT:-8000}
mkdir -p "$DEMO/hub"

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# 1. A broker: the local Mosquitto if one answers, else start Debian's (installing it when we are root).
if ! answers 1883; then
  if ! command -v mosquitto >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
      echo "installing mosquitto…"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null
    else
      echo "No MQTT broker on 127.0.0.1:1883 and mosquitto is not installed: sudo apt-get install mosquitto" >&2
      exit 1
    fi
  fi
  echo "starting mosquitto on 127.0.0.1:1883"
  mosquitto -d -p 1883
  for _ in $(seq 1 50); do answers 1883 && break; sleep 0.2; done
fi

# 2. The hub: seed the demo district (idempotent), then serve with the in-process ingest worker,
#    listening only to the demo schools so other traffic on a shared broker is left alone.
export MINGCHU_HUB__MQTT__SCHOOLS='[school-a, school-b]' MINGCHU_HUB__MQTT__SHARE_GROUP=mingchu-demo \
       MINGCHU_HUB__MQTT__CLIENT_ID=mingchu-demo-hub
cd "$DEMO/hub"
"$BIN/mingchu-hub" seed-demo --key-dir "$DEMO/keys"
"$BIN/mingchu-hub" serve --host 127.0.0.1 --port "$HUB_PORT" > "$DEMO/hub.log" 2>&1 &
HUB=$!
cd "$ROOT"
trap 'kill $HUB ${EDGE:-} 2>/dev/null; wait 2>/dev/null; echo; echo "demo stopped"' EXIT INT TERM
for _ in $(seq 1 100); do
  "$BIN/python" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
    "http://127.0.0.1:$HUB_PORT/healthz" 2>/dev/null && break
  kill -0 $HUB 2>/dev/null || { cat "$DEMO/hub.log" >&2; exit 1; }
  sleep 0.3
done

# 3. The edge agent on the bundled clip.
"$BIN/mingchu-edge" run --config configs/edge.demo.yaml > "$DEMO/edge.log" 2>&1 &
EDGE=$!

cat <<TXT

  Mingchu demo is running.
    Web (简体中文):  http://127.0.0.1:$HUB_PORT/web/login
    API docs:        http://127.0.0.1:$HUB_PORT/docs
    Edge metrics:    http://127.0.0.1:9108/metrics
  Users (password mingchu-demo): regulator, head-a, manager-a, parent-a, admin
  The edge agent watches tests/assets/vtest_10s.mp4 as school-a's prep room with no staffed hours,
  so people in it raise 陌生人闯入 cases within a minute. Logs: var/demo/{hub,edge}.log. Ctrl-C stops.

TXT
wait $EDGE
