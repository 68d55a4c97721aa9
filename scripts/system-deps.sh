#!/usr/bin/env bash
# Debian packages for the real parts the tests use. Idempotent; skips quietly what is present.
set -euo pipefail
need=()
for pkg in mosquitto gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-good \
           gstreamer1.0-plugins-bad gstreamer1.0-libav ffmpeg chromium fonts-droid-fallback fonts-wqy-microhei \
           poppler-utils; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages: ${need[*]} — install them as root (sudo apt-get install ${need[*]})" >&2
  exit 1
fi
echo "installing: ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
