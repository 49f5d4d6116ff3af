"""Where notify may send a webhook: public addresses only, checked at registration and again at every delivery.

A subscription URL naming loopback, link-local, private, shared, reserved or cloud metadata addresses, or an
internal service name, is refused — otherwise an operator's (or an attacker's) subscription would make notify
fetch from inside the network (SSRF). The check resolves the name and judges every address it resolves to;
at delivery the sender connects to the address that was checked (`Target.url` with ``Host`` and SNI set to
the name), so a DNS answer that changes between the check and the connect (rebinding) cannot get through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from zhongshi_runtime.errors import Refusal

Resolver = Callable[[str, int], Awaitable[list[str]]]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Metadata endpoints that are not link-local (169.254.169.254 and fd00:ec2::254 are covered by the ranges).
METADATA = {ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254")}
# Names only an internal resolver answers: the compose/Kubernetes service names and private suffixes.
INTERNAL_NAMES = ("localhost", "intake", "screening", "review", "registry", "notify", "mongodb", "mongo", "kafka",
                  "tansu", "prometheus", "grafana", "keycloak", "metadata", "metadata.google.internal")
INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".svc", ".cluster.local", ".lan", ".home.arpa",
                     ".intranet", ".corp")


class Refused(Refusal):
    """The URL may not receive webhooks; the message is Chinese, for the operator (a registration names the
    field instead: 422)."""


@dataclass(frozen=True)
class Target:
    """A checked destination: the URL to connect to (host replaced by the checked address) and the name."""

    url: str
    host: str


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def forbidden(address: Address) -> bool:
    """Not a public unicast address (IPv4-mapped IPv6 is judged as its IPv4 address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (address in METADATA or address.is_private or address.is_loopback or address.is_link_local
            or address.is_multicast or address.is_reserved or address.is_unspecified
            or (isinstance(address, ipaddress.IPv4Address) and address in ipaddress.ip_network("100.64.0.0/10"))
            or not address.is_global)


def internal_name(host: str) -> bool:
    name = host.lower().rstrip(".")
    return "." not in name or name in INTERNAL_NAMES or name.endswith(INTERNAL_SUFFIXES)


class EgressGuard:
    """Judges webhook URLs; ``allow_private`` (development and tests only) lets loopback receivers through."""

    def __init__(self, *, allow_private: bool = False, resolver: Resolver = system_resolver,
                 extra_internal: Sequence[str] = ()) -> None:
        self.allow_private, self.resolver = allow_private, resolver
        self.extra_internal = {h.lower() for h in extra_internal}

    async def check(self, url: str) -> Target:
        """The checked target of ``url``; `Refused` when it is not a public address."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or not host:
            raise Refused("回调地址须为 http(s) 网址")
        if parts.username or parts.password:
            raise Refused("回调地址不得包含用户名或密码")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = await self._addresses(host, port)
        if not self.allow_private:
            if not _literal(host) and (internal_name(host) or host in self.extra_internal):
                raise Refused(f"回调地址不得指向内部服务名 {host}")
            if bad := [a for a in addresses if forbidden(ipaddress.ip_address(a))]:
                raise Refused(f"回调地址解析到内网、回环、链路本地或元数据地址（{bad[0]}），不予接受")
        pinned = addresses[0]
        netloc = f"[{pinned}]" if ":" in pinned else pinned
        if parts.port:
            netloc += f":{parts.port}"
        return Target(url=urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), host=host)

    async def _addresses(self, host: str, port: int) -> list[str]:
        if _literal(host):
            return [str(ipaddress.ip_address(host.strip("[]")))]
        try:
            found = await self.resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise Refused(f"回调地址的主机名 {host} 无法解析") from exc
        if not found:
            raise Refused(f"回调地址的主机名 {host} 无法解析")
        return found


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
