#!/bin/sh
# Install the Loa board player on a Debian / Raspberry Pi OS computer driving a screen: kiosk Chromium in the cage
# compositor, started by systemd at boot, opening https://<server>/board/.
#
#   sudo sh deploy/board/install.sh --server https://loa.example.vn
#
# Then type the one-time enrolment code (console: Bảng tin → Đăng ký) on the screen once, with a USB keyboard.
# Options: --no-apt --no-systemd --no-user (for images and tests), --prefix DIR (default /opt/loa-board).
set -eu

SERVER="" PREFIX=/opt/loa-board APT=1 SYSTEMD=1 MKUSER=1 BIN=/usr/local/bin CONF=/etc/loa-board.conf
SRC=$(cd "$(dirname "$0")/../.." && pwd)

die() { echo "Lỗi: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --server) SERVER=$2; shift 2 ;;
        --prefix) PREFIX=$2; shift 2 ;;
        --bin-dir) BIN=$2; shift 2 ;;
        --conf) CONF=$2; shift 2 ;;
        --no-apt) APT=0; shift ;;
        --no-systemd) SYSTEMD=0; shift ;;
        --no-user) MKUSER=0; shift ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) die "tùy chọn không rõ: $1" ;;
    esac
done
case "$SERVER" in
    https://*) ;;
    http://localhost*|http://127.0.0.1*) echo "Cảnh báo: máy chủ không dùng HTTPS (chỉ để thử trên máy này)." >&2 ;;
    *) die "--server phải là địa chỉ https://… của máy chủ Loa" ;;
esac
SERVER=${SERVER%/}
if [ "$SYSTEMD" = 1 ] || [ "$APT" = 1 ] || [ "$MKUSER" = 1 ]; then
    [ "$(id -u)" = 0 ] || die "cần quyền root (sudo)"
fi

if [ "$APT" = 1 ]; then
    echo "== Cài Chromium, cage và phông chữ"
    # Debian names it chromium; older Raspberry Pi OS images chromium-browser
    if apt-cache show chromium >/dev/null 2>&1; then BROWSER_PKG=chromium; else BROWSER_PKG=chromium-browser; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        "$BROWSER_PKG" cage fonts-noto-core ca-certificates
fi

if [ "$MKUSER" = 1 ] && ! id loa-board >/dev/null 2>&1; then
    echo "== Tạo người dùng hệ thống loa-board"
    useradd --system --create-home --home-dir /var/lib/loa-board --shell /usr/sbin/nologin \
        --groups video,render,input,audio loa-board 2>/dev/null \
        || useradd --system --create-home --home-dir /var/lib/loa-board --shell /usr/sbin/nologin loa-board
fi

echo "== Cấu hình: $CONF"
mkdir -p "$(dirname "$CONF")" "$BIN" "$PREFIX"
printf 'LOA_SERVER=%s\n' "$SERVER" > "$CONF"
chmod 0644 "$CONF"
install -m 0755 "$SRC/deploy/board/loa-board-kiosk" "$BIN/loa-board-kiosk"
cp "$SRC/docs/signage-player.md" "$PREFIX/" 2>/dev/null || true

if [ "$SYSTEMD" = 1 ]; then
    echo "== Dịch vụ systemd loa-board"
    install -m 0644 "$SRC/deploy/board/loa-board.service" /etc/systemd/system/loa-board.service
    systemctl daemon-reload
    systemctl set-default graphical.target
    systemctl enable --now loa-board.service
    echo "Xong. Màn hình mở $SERVER/board/ — nhập mã đăng ký một lần trên màn hình."
else
    echo "Xong (không cài dịch vụ). Chạy thử: LOA_BOARD_CONF=$CONF LOA_BOARD_PROFILE=/tmp/loa-board $BIN/loa-board-kiosk"
fi
