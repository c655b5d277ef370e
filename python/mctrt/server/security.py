"""Who may talk to the server: the bearer token, the Host header (against DNS rebinding) and the
Origin of browser WebSockets. The rules are in app.py's docstring."""

from __future__ import annotations

import hmac
import ipaddress
import os
from urllib.parse import urlsplit

from aiohttp import web

from mctrt.config import ServerConfig

PUBLIC = ("/health", "/api/openapi.json")  # answered without a token


def error(status: int, message: str, **headers) -> web.Response:
    """The JSON error body every refusal and bad request gets."""
    return web.json_response({"error": message}, status=status, headers=headers or None)


def server_token(config: ServerConfig) -> str | None:
    """The configured token, else MCTRT_TOKEN, else None (an empty MCTRT_TOKEN counts as unset)."""
    return config.token or os.environ.get("MCTRT_TOKEN") or None


def host_allowed(host: str | None, names: frozenset[str]) -> bool:
    """Whether a Host header (or an origin's host[:port]) addresses this server: an IP address, or one
    of names (lower case), with or without a port."""
    if not host:
        return False
    try:
        hostname = urlsplit(f"//{host}").hostname
    except ValueError:
        return False
    if hostname is None:
        return False
    try:
        ipaddress.ip_address(hostname)
        return True
    except ValueError:
        return hostname.rstrip(".") in names


def host_middleware(names: frozenset[str]):
    @web.middleware
    async def check_host(request: web.Request, handler):
        if not host_allowed(request.headers.get("Host"), names):
            return error(421, f"this server does not answer to the host name {request.headers.get('Host')!r}: "
                               "add it to server.allowed_hosts if it is one of this server's names")
        return await handler(request)

    return check_host


def auth_middleware(token: str | None):
    @web.middleware
    async def auth(request: web.Request, handler):
        protected = request.path.startswith(("/api/", "/ws/")) and request.path not in PUBLIC
        if token is not None and protected:
            given = request.headers.get("Authorization", "")
            # the scheme's name is case-insensitive (RFC 7235)
            given = given[7:] if given[:7].lower() == "bearer " else request.query.get("token", "")
            # Headers arrive as text with undecodable bytes escaped: compare them as the bytes they were.
            if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode()):
                return error(401, "this server needs a token: send 'Authorization: Bearer <token>' "
                                   "(WebSockets and the page: ?token=<token>)", **{"WWW-Authenticate": "Bearer"})
        return await handler(request)

    return auth


def origin_allowed(request: web.Request, allowed: tuple[str, ...], names: frozenset[str]) -> bool:
    """True for clients that send no Origin (not a browser page), the page's own origin (addressed to
    one of this server's names, host_allowed), or a listed one."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    try:
        netloc = urlsplit(origin).netloc
        if origin_key(origin) in {origin_key(o) for o in allowed}:
            return True
    except ValueError:
        return False
    return netloc == request.host and host_allowed(netloc, names)


def origin_key(origin: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) as a browser's Origin header names them: lower case, the scheme's default
    port and a trailing slash dropped, so that "https://Ops.example.com:443/" in a config matches the
    "https://ops.example.com" a browser sends. ValueError for a malformed one."""
    parts = urlsplit(origin.strip())
    scheme, port = parts.scheme.lower(), parts.port
    if port == {"http": 80, "https": 443}.get(scheme):
        port = None
    return scheme, (parts.hostname or ""), port


def host_names(config: ServerConfig) -> frozenset[str]:
    """The names this server answers to besides IP addresses: localhost, the one it binds to when that
    is a name, and server.allowed_hosts."""
    names = {"localhost", *config.allowed_hosts}
    if not host_allowed(config.host, frozenset()):  # a name, not an address
        names.add(config.host)
    return frozenset(n.lower().rstrip(".") for n in names)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
