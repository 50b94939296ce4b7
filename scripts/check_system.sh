#!/usr/bin/env bash
# What the machine must have beyond Python: says which Debian packages are missing and how to get them.
#   scripts/check_system.sh test   — everything the test suite drives for real (fails if something is missing)
#   scripts/check_system.sh demo   — what the demo needs (warns only: the demo falls back where it can)
mode="${1:-test}"
missing=()
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || missing+=(ffmpeg)
command -v npm >/dev/null || missing+=(npm)
if [ "$mode" = test ]; then
  command -v espeak-ng >/dev/null || missing+=(espeak-ng)
  command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
  command -v chromium >/dev/null || [ -x /usr/bin/chromium ] || missing+=(chromium)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "Thiếu gói hệ thống: ${missing[*]}"
  echo "Cài bằng: sudo apt-get install -y ${missing[*]}   (.ci/run tự cài khi chạy với quyền root)"
  [ "$mode" = test ] && exit 1
fi
exit 0
