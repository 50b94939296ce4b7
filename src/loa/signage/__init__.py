"""E-bulletin boards (bảng tin điện tử công cộng): board content, layouts, playlists, the reference player, proof of display."""
