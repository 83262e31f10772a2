"""A TURN allocation from the doctor (RFC 5766, long-term credentials), with no WebRTC stack: the STUN
messages by hand over UDP, TCP or TLS, so ``teleconsult doctor`` proves the site's TURN server grants
a relay with the site's credentials. Qt-free; used by app/doctor.py's ICE check."""

from __future__ import annotations

import contextlib
import hashlib
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TurnUrl:
    scheme: str  # "turn", "turns" or "stun"
    host: str
    port: int
    transport: str  # "udp" or "tcp"


def parse_ice_url(url: str) -> TurnUrl:
    scheme, _, rest = url.partition(":")
    rest, _, query = rest.partition("?")
    transport = "tcp" if scheme == "turns" else "udp"
    for item in query.split("&"):
        key, _, value = item.partition("=")
        if key == "transport" and value in ("udp", "tcp"):
            transport = value
    if rest.startswith("["):
        host, _, port_part = rest[1:].partition("]")
        port_text = port_part.lstrip(":")
    else:
        host, _, port_text = rest.partition(":")
    port = int(port_text) if port_text else (5349 if scheme == "turns" else 3478)
    return TurnUrl(scheme, host, port, transport)


class _StunChannel:
    """One STUN conversation over UDP (with retransmission), TCP or TLS."""

    def __init__(self, target: TurnUrl, timeout: float) -> None:
        self.target, self.timeout = target, timeout
        family = socket.AF_INET6 if ":" in target.host else socket.AF_INET
        address = socket.getaddrinfo(target.host, target.port, family)[0][4]
        self.address = (str(address[0]), int(address[1]))
        self.sock: socket.socket
        if target.transport == "udp":
            self.sock = socket.socket(family, socket.SOCK_DGRAM)
        else:
            raw = socket.create_connection(self.address, timeout=timeout)
            if target.scheme == "turns":
                context = ssl.create_default_context()
                self.sock = context.wrap_socket(raw, server_hostname=target.host)
            else:
                self.sock = raw

    def close(self) -> None:
        self.sock.close()

    def _read_exact(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("the server closed the connection")
            data += chunk
        return data

    def transact(self, request: Any) -> Any:
        from aioice import stun

        payload = bytes(request)
        deadline = time.monotonic() + self.timeout
        if self.target.transport != "udp":
            self.sock.settimeout(self.timeout)
            self.sock.sendall(payload)
            header = self._read_exact(20)
            body = self._read_exact(int.from_bytes(header[2:4], "big"))
            return stun.parse_message(header + body)
        wait = 0.25
        while True:
            self.sock.sendto(payload, self.address)
            self.sock.settimeout(min(wait, max(0.01, deadline - time.monotonic())))
            try:
                while True:
                    data, _ = self.sock.recvfrom(4096)
                    message = stun.parse_message(data)
                    if message.transaction_id == request.transaction_id:
                        return message
            except (TimeoutError, ValueError):
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"no answer within {self.timeout:g} s") from None
                wait = min(wait * 2, 1.6)


def turn_allocate(
    url: str, username: str | None, password: str | None, timeout: float = 5.0
) -> tuple[str, int]:
    """Allocate a relay on a TURN server and release it again; return the relayed address.

    Raises PermissionError when the credentials are refused, TimeoutError/OSError when the server
    cannot be reached, RuntimeError for any other error answer.
    """
    from aioice import stun

    target = parse_ice_url(url)
    channel = _StunChannel(target, timeout)
    try:
        if target.scheme == "stun":
            answer = channel.transact(stun.Message(stun.Method.BINDING, stun.Class.REQUEST))
            if answer.message_class != stun.Class.RESPONSE:
                raise RuntimeError(f"binding refused: {answer.attributes.get('ERROR-CODE')}")
            mapped = answer.attributes.get("XOR-MAPPED-ADDRESS") or answer.attributes.get("MAPPED-ADDRESS")
            return str(mapped[0]), int(mapped[1])
        # The relay is always UDP (RFC 5766); only the leg to the server may be TCP or TLS.
        request = stun.Message(
            stun.Method.ALLOCATE, stun.Class.REQUEST, attributes={"REQUESTED-TRANSPORT": 0x11000000}
        )
        answer = channel.transact(request)
        key = b""
        auth: dict[str, Any] = {}
        for _ in range(3):  # 401 (realm, nonce), then perhaps 438 (stale nonce)
            if answer.message_class == stun.Class.RESPONSE:
                break
            code = answer.error_code
            if code not in (401, 438) or username is None or password is None:
                if code == 401:
                    raise PermissionError("the server wants credentials and none are configured")
                raise RuntimeError(f"allocation refused: {answer.attributes.get('ERROR-CODE')}")
            if code == 401 and auth:
                raise PermissionError(f"credentials refused: {answer.attributes.get('ERROR-CODE')}")
            realm = str(answer.attributes["REALM"])
            key = hashlib.md5(f"{username}:{realm}:{password}".encode()).digest()  # RFC 5389 long-term key
            auth = {"USERNAME": username, "REALM": realm, "NONCE": answer.attributes["NONCE"]}
            request = stun.Message(
                stun.Method.ALLOCATE,
                stun.Class.REQUEST,
                attributes={"REQUESTED-TRANSPORT": 0x11000000, **auth},
            )
            request.add_message_integrity(key)
            answer = channel.transact(request)
        if answer.message_class != stun.Class.RESPONSE:
            raise PermissionError(f"credentials refused: {answer.attributes.get('ERROR-CODE')}")
        relayed = answer.attributes["XOR-RELAYED-ADDRESS"]
        release = stun.Message(stun.Method.REFRESH, stun.Class.REQUEST, attributes={"LIFETIME": 0, **auth})
        if key:
            release.add_message_integrity(key)
        with contextlib.suppress(OSError, TimeoutError, ValueError):
            channel.transact(release)
        return str(relayed[0]), int(relayed[1])
    finally:
        channel.close()
