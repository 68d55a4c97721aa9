#!/usr/bin/env bash
# Start Mosquitto (127.0.0.1:1883) and PostgreSQL (127.0.0.1:5432) when they do not answer.
set -uo pipefail
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() { for _ in $(seq 1 50); do answers "$1" && return 0; sleep 0.2; done; return 1; }

if ! answers 1883; then
  echo "starting mosquitto"
  if [ -f /etc/mosquitto/mosquitto.conf ]; then mosquitto -d -c /etc/mosquitto/mosquitto.conf
  else mosquitto -d -p 1883; fi
  wait_for 1883 || { echo "mosquitto did not start on 1883" >&2; exit 1; }
fi
if ! answers 5432; then
  if command -v pg_ctlcluster >/dev/null; then
    echo "starting postgresql"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    wait_for 5432 || echo "warning: PostgreSQL is not answering on 5432; its tests will fail" >&2
  else
    echo "warning: no PostgreSQL here; the PostgreSQL variants of the database tests will fail" >&2
  fi
fi
exit 0
