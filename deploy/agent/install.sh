#!/bin/sh
# Install the Loa loudspeaker agent on a Debian / Raspberry Pi OS device, enrol it and start it.
#
#   sudo sh deploy/agent/install.sh --server https://loa.example.vn --code K7Q2-M9XD
#
# Run from a checkout (or an unpacked release) of Loa. Options:
#   --server URL      the Loa server (HTTPS)            --code CODE   one-time enrolment code from the console
#   --wheels DIR      install Python packages from DIR only (offline devices; see docs/agent.md)
#   --ca-file PEM     private CA of the server          --player P    auto (ffmpeg, else mpv, ffplay) | ffmpeg | mpv | ffplay | null
#   --prefix DIR      default /opt/loa-agent            --no-apt --no-systemd --no-user  (for images and tests)
set -eu

SERVER="" CODE="" WHEELS="" CA_FILE="" PLAYER="auto"
PREFIX=/opt/loa-agent STATE=/var/lib/loa-agent APT=1 SYSTEMD=1 MKUSER=1
SRC=$(cd "$(dirname "$0")/../.." && pwd)

die() { echo "Lỗi: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --server) SERVER=$2; shift 2 ;;
        --code) CODE=$2; shift 2 ;;
        --wheels) WHEELS=$2; shift 2 ;;
        --ca-file) CA_FILE=$2; shift 2 ;;
        --player) PLAYER=$2; shift 2 ;;
        --prefix) PREFIX=$2; shift 2 ;;
        --state-dir) STATE=$2; shift 2 ;;
        --no-apt) APT=0; shift ;;
        --no-systemd) SYSTEMD=0; shift ;;
        --no-user) MKUSER=0; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) die "tùy chọn không rõ: $1" ;;
    esac
done
[ -d "$SRC/src/loa_agent" ] || die "không thấy mã nguồn tác tử trong $SRC/src/loa_agent"
if [ "$SYSTEMD" = 1 ] || [ "$APT" = 1 ] || [ "$MKUSER" = 1 ]; then
    [ "$(id -u)" = 0 ] || die "cần quyền root (sudo)"
fi

if [ "$APT" = 1 ]; then
    echo "== Cài gói hệ thống (python3-venv, mpv, ffmpeg)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv mpv ffmpeg ca-certificates
fi

if [ "$MKUSER" = 1 ] && ! id loa-agent >/dev/null 2>&1; then
    echo "== Tạo người dùng hệ thống loa-agent"
    useradd --system --home-dir "$STATE" --shell /usr/sbin/nologin --groups audio loa-agent
fi

echo "== Tạo môi trường Python tại $PREFIX/venv"
mkdir -p "$PREFIX"
python3 -m venv "$PREFIX/venv"
if [ -n "$WHEELS" ]; then
    "$PREFIX/venv/bin/pip" install --quiet --no-index --find-links "$WHEELS" -r "$SRC/deploy/agent/requirements.txt"
else
    "$PREFIX/venv/bin/pip" install --quiet -r "$SRC/deploy/agent/requirements.txt"
fi
# Only the device packages: the agent never needs the server (Django) code.
SITE=$("$PREFIX/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
rm -rf "$SITE/loa_protocol" "$SITE/loa_agent"
cp -r "$SRC/src/loa_protocol" "$SRC/src/loa_agent" "$SITE/"
find "$SITE/loa_protocol" "$SITE/loa_agent" -name __pycache__ -prune -exec rm -rf {} +
mkdir -p "$PREFIX/docs" && cp "$SRC/docs/agent.md" "$SRC/docs/protocol.md" "$PREFIX/docs/" 2>/dev/null || true
"$PREFIX/venv/bin/python" -m loa_agent --version

if [ -n "$SERVER" ] && [ -n "$CODE" ]; then
    echo "== Đăng ký thiết bị với $SERVER"
    set -- enrol --server "$SERVER" --code "$CODE" --state-dir "$STATE"
    [ -n "$CA_FILE" ] && set -- "$@" --ca-file "$CA_FILE"
    "$PREFIX/venv/bin/python" -m loa_agent "$@"
    [ "$MKUSER" = 1 ] && chown -R loa-agent:loa-agent "$STATE"
fi

if [ "$SYSTEMD" = 1 ]; then
    echo "== Cài dịch vụ systemd loa-agent"
    sed -e "s#/opt/loa-agent#$PREFIX#g" -e "s#/var/lib/loa-agent#$STATE#g" \
        -e "s#--state-dir $STATE#--state-dir $STATE --player $PLAYER${CA_FILE:+ --ca-file $CA_FILE}#" \
        "$SRC/deploy/systemd/loa-agent.service" > /etc/systemd/system/loa-agent.service
    systemctl daemon-reload
    systemctl enable --now loa-agent.service
    systemctl --no-pager status loa-agent.service | head -5 || true
fi
echo "Xong. Nhật ký: journalctl -u loa-agent -f"
