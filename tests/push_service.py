"""A push service on loopback that speaks the Web Push protocol, for tests and benchmarks (never a real one).

It listens with TLS on 127.0.0.1 (a self-signed certificate it makes; ``ca_file`` is what the sender must trust)
and accepts RFC 8030 push messages ``POST /push/<token>``: it checks the ``TTL`` and ``Urgency`` headers, the
``aes128gcm`` content coding (RFC 8188/8291) and the VAPID ``Authorization: vapid t=<JWT>, k=<key>`` (RFC 8292:
ES256 signature verified with ``k``, ``aud`` = this origin, ``exp`` within 24 hours, ``sub`` a mailto: or https:
contact). A :class:`Browser` is one subscriber with its own P-256 key pair and auth secret: its
``subscription`` is what ``PushSubscription.toJSON()`` gives, and :meth:`Browser.decrypt` opens a received payload
with the subscriber's private key (``http_ece``), as the browser would.

Answers are scripted per token (``service.script(token, [503, 201])``): 201 by default, 404/410 for a gone
subscription, 429 (with ``Retry-After``) or 5xx to test retries.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import os
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import http_ece
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """One push subscriber (a browser's PushSubscription)."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth_secret: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def token(self) -> str:
        return self.endpoint.rsplit("/", 1)[-1]

    @property
    def subscription(self) -> dict[str, Any]:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": b64url(point), "auth": b64url(self.auth_secret)}}  # fmt: skip

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth_secret, version="aes128gcm"
        )
        return json.loads(plain.decode("utf-8"))


@dataclass
class Message:
    token: str
    headers: dict[str, str]
    body: bytes
    status: int
    at: float
    claims: dict[str, Any]


def verify_vapid(authorization: str, origin: str) -> dict[str, Any]:
    """The VAPID JWT's claims, or ValueError naming what RFC 8292 says is wrong."""
    scheme, _, params = authorization.partition(" ")
    if scheme.lower() != "vapid":
        raise ValueError("Authorization scheme is not vapid")
    parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
    token, key = parts.get("t"), parts.get("k")
    if not token or not key:
        raise ValueError("vapid needs t= and k=")
    header_b64, claims_b64, sig_b64 = token.split(".")
    header = json.loads(unb64url(header_b64))
    if header.get("alg") != "ES256":
        raise ValueError(f"alg {header.get('alg')} is not ES256")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
    sig = unb64url(sig_b64)
    if len(sig) != 64:
        raise ValueError("ES256 signature must be 64 bytes")
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        public.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise ValueError("VAPID signature does not verify") from None
    claims = json.loads(unb64url(claims_b64))
    if claims.get("aud") != origin:
        raise ValueError(f"aud {claims.get('aud')!r} is not {origin!r}")
    now = time.time()
    if not now < int(claims.get("exp", 0)) <= now + 24 * 3600:
        raise ValueError("exp must be in the next 24 hours")
    if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
        raise ValueError("sub must be a mailto: or https: contact")
    claims["k"] = key
    return claims


class PushService:
    def __init__(self, keep_bodies: bool = True) -> None:
        self.keep_bodies = keep_bodies
        self.messages: list[Message] = []
        self.rejected: list[tuple[str, str]] = []  # (token, reason)
        self.count = 0
        self._scripts: dict[str, list[int]] = {}
        self._default = 201
        self._lock = threading.Lock()
        self._dir = tempfile.TemporaryDirectory(prefix="loa-push-")
        self.ca_file, key_file = self._certificate(Path(self._dir.name))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.ca_file, key_file)
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                service._handle(self)

            def do_GET(self) -> None:
                service._stats(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.origin = f"https://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def _certificate(directory: Path) -> tuple[str, str]:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "loa-test-push-service")])
        # valid two days either side: LOA_TEST_CLOCK shifts Python's clock by up to a day, OpenSSL checks the
        # certificate against the real one (a certificate "not yet valid" failed every push at 23:30 in Vietnam)
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=2))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )  # fmt: skip
        cert_file, key_file = directory / "cert.pem", directory / "key.pem"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return str(cert_file), str(key_file)

    def __enter__(self) -> PushService:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)
        self._dir.cleanup()

    def browser(self) -> Browser:
        return Browser(f"{self.origin}/push/{b64url(os.urandom(12))}")

    def script(self, token: str, statuses: list[int]) -> None:
        """The next answers for ``token`` (then 201)."""
        with self._lock:
            self._scripts[token] = list(statuses)

    def to(self, token: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.token == token]

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length)
        token = h.path.rsplit("/", 1)[-1]
        reason = ""
        claims: dict[str, Any] = {}
        ttl = h.headers.get("TTL")
        if not h.path.startswith("/push/"):
            status, reason = 404, "unknown path"
        elif ttl is None or not ttl.isdigit():
            status, reason = 400, "TTL header missing or not a number (RFC 8030 §5.2)"
        elif h.headers.get("Urgency", "normal") not in {"very-low", "low", "normal", "high"}:
            status, reason = 400, "Urgency is not one of RFC 8030 §5.3"
        elif body and h.headers.get("Content-Encoding") != "aes128gcm":
            status, reason = 415, "payload must be aes128gcm (RFC 8291)"
        elif len(body) > 4096:
            status, reason = 413, "payload larger than 4096 bytes"
        else:
            try:
                claims = verify_vapid(h.headers.get("Authorization", ""), self.origin)
                status = 0
            except (ValueError, KeyError) as exc:
                status, reason = 403, f"VAPID: {exc}"
        with self._lock:
            if status == 0:
                script = self._scripts.get(token)
                status = script.pop(0) if script else self._default
            self.count += 1
            if reason:
                self.rejected.append((token, reason))
            else:
                self.messages.append(Message(token, dict(h.headers.items()),
                                             body if self.keep_bodies else b"", status, time.time(), claims))  # fmt: skip
        h.send_response(status)
        if status == 201:
            h.send_header("Location", f"{self.origin}/message/{self.count}")
        if status == 429:
            h.send_header("Retry-After", "0")
        h.send_header("Content-Length", "0")
        h.end_headers()

    def _stats(self, h: BaseHTTPRequestHandler) -> None:
        """``GET /stats``: how many messages arrived, by status, and the rejected ones (for a separate process)."""
        with self._lock:
            by_status: dict[str, int] = {}
            for m in self.messages:
                by_status[str(m.status)] = by_status.get(str(m.status), 0) + 1
            first = min((m.at for m in self.messages), default=None)
            last = max((m.at for m in self.messages), default=None)
            body = json.dumps({"requests": self.count, "by_status": by_status, "rejected": len(self.rejected),
                               "reasons": sorted({r for _t, r in self.rejected})[:5],
                               "first_at": first, "last_at": last}).encode()  # fmt: skip
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)


def main() -> None:
    """Serve until stdin closes, in its own process: prints ``{"origin", "ca_file"}`` on one line."""
    import sys

    with PushService(keep_bodies=False) as service:
        print(json.dumps({"origin": service.origin, "ca_file": service.ca_file}), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
