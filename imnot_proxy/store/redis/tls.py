"""TLS to Redis: the files a ``rediss://`` URL names are read before connecting, and a
handshake that fails says what to change in the URL.

redis-py reads the files only when it connects, and words a missing one as
``Error 2 connecting to host:port. No such file or directory.``; here the parameter and the
file are named instead. A client key protected by a passphrase is refused rather than
letting OpenSSL ask for the passphrase on the terminal.
"""

from __future__ import annotations

import os
import ssl

from .url import RedisUrl

FILES = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile")
CLOSED = ("EOF occurred in violation of protocol", "Connection reset by peer",
          "Connection closed by server", "Broken pipe")


def check_files(url: RedisUrl) -> None:
    """ValueError naming the parameter and its file when one is missing, or not what the
    parameter says (a CA bundle; a certificate and its unencrypted key)."""
    options = url.client_options()
    for key in FILES:
        path = options.get(key)
        if isinstance(path, str) and not os.path.isfile(path):
            raise ValueError(f"{key} {path!r}: no such file")
    context = ssl.create_default_context()
    ca = options.get("ssl_ca_certs")
    if isinstance(ca, str):
        try:
            context.load_verify_locations(cafile=ca)
        except (ssl.SSLError, ValueError):
            raise ValueError(f"ssl_ca_certs {ca!r} holds no PEM certificate") from None
    cert, key = options.get("ssl_certfile"), options.get("ssl_keyfile")
    if isinstance(cert, str):
        try:
            context.load_cert_chain(cert, key if isinstance(key, str) else None,
                                    password=_no_passphrase)
        except (ssl.SSLError, _Encrypted):
            where = f"ssl_certfile {cert!r}" + (f" and ssl_keyfile {key!r}" if key else "")
            raise ValueError(f"{where}: not a PEM certificate with its unencrypted private key"
                             ) from None


class _Encrypted(Exception):
    pass


def _no_passphrase() -> str:
    raise _Encrypted


def advice(text: str, url: RedisUrl) -> str:
    """``"; what to change"`` for a connection error's text, or ``""``."""
    scheme = url.url.split("://", 1)[0].lower()
    if scheme == "redis":
        if "Connection reset by peer" in text or "Connection closed by server" in text:
            return "; if that port speaks TLS, use rediss://"
        return ""
    if scheme != "rediss":
        return ""
    options = url.client_options()
    if "CERTIFICATE_VERIFY_FAILED" in text:
        if "mismatch" in text:
            return ("; the server's certificate does not name the URL's host: connect by a "
                    "name it carries (or add ssl_check_hostname=false)")
        if "ssl_ca_certs" in options:
            return "; the server's certificate is not signed by the CA in ssl_ca_certs"
        return ("; the server's certificate is not signed by a CA this host trusts: name its "
                "CA with ?ssl_ca_certs=/path/ca.pem")
    certfile = "ssl_certfile" in options
    if "CERTIFICATE_REQUIRED" in text and not certfile:
        return "; the server requires a client certificate: add ssl_certfile= and ssl_keyfile="
    if ("UNKNOWN_CA" in text or "BAD_CERTIFICATE" in text) and certfile:
        return "; the server refused the client certificate in ssl_certfile"
    if any(closed in text for closed in CLOSED):
        # with TLS 1.3 the server checks the client's certificate after the client's side of
        # the handshake is done: its alert can be lost to a write that meets a closed socket
        if certfile:
            return "; the server may have refused the client certificate in ssl_certfile"
        return ("; if the server requires a client certificate, add ssl_certfile= and "
                "ssl_keyfile=")
    return ""
