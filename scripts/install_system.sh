#!/usr/bin/env bash
# The Debian packages Loa drives for real, installed by name (the same names on Debian 12 and 13).
#   scripts/install_system.sh demo   — what `make demo` needs
#   scripts/install_system.sh test   — what `make test` and .ci/run need (the demo's, plus the browser and tools)
# As root it installs what is missing (`apt-get update` only then); otherwise it installs them through sudo, and
# where there is no sudo (or it is refused) it prints the one command to run and fails, so that make stops before it
# has set up half a machine.
set -euo pipefail
mode="${1:-test}"

# libpango-1.0-0, libpangoft2-1.0-0, libharfbuzz-subset0 (font subsetting; without it WeasyPrint warns on each PDF)
# and fonts-noto-core: WeasyPrint's PDF reports in Noto Serif (docs/adr/0012);
# poppler-utils also reads those PDFs back in the report tests (pdftotext, pdftoppm).
packages=(python3-venv ffmpeg espeak-ng mosquitto poppler-utils libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-core)
if [ "$mode" = test ]; then
  # chromium for the browser tests (fonts-dejavu-core so Vietnamese renders in screenshots), mosquitto-clients and
  # sox for the broker and audio tests, gettext for the translation catalogue's msgfmt check, nginx to run the
  # shipped deploy/nginx/loa.conf's media cache in front of the web process (tests, `loa bench emergency --nginx`).
  packages+=(mosquitto-clients chromium fonts-dejavu-core sox gettext nginx)
elif [ "$mode" != demo ]; then
  echo "usage: $0 demo|test" >&2
  exit 2
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
# Node.js may come from another packaging with npm inside it; only ask Debian for it when there is no npm at all.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    # install them ourselves through sudo (it asks for the password when it needs one)
    echo "Thiếu gói hệ thống: ${missing[*]}. Cài bằng sudo:" >&2
    if sudo "$0" "$mode"; then
      exit 0
    fi
    echo "Không cài được qua sudo. Chạy một lần với quyền root rồi gõ lại lệnh make:" >&2
  else
    echo "Thiếu gói hệ thống: ${missing[*]}. Chạy một lần với quyền root rồi gõ lại lệnh make:" >&2
  fi
  echo "  sudo $0 $mode" >&2
  exit 1
fi

echo "Cài gói hệ thống: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Loa starts the daemons it needs itself, on loopback ports of its own: installing nginx (or mosquitto) must not
# start the package's own service on port 80 (1883). Debian's invoke-rc.d asks policy-rc.d; one is kept only for
# the length of this install, and only where the machine has none of its own.
if [ ! -e /usr/sbin/policy-rc.d ] && [ -w /usr/sbin ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
