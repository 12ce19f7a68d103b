"""The mitmproxy CA a staging system trusts for partner hosts: find or create it, export it,
and say exactly how each kind of client is told to trust it and to use the proxy.

The CA lives in mitmproxy's confdir (``~/.mitmproxy`` unless ``--confdir``); the proxy
creates it on first start, and ``ensure_ca`` creates the same files with mitmproxy's own
code so the CA can be installed on a staging system before the proxy ever runs. Only
partner, admin and recorded hosts are decrypted (``interception.py``), so a client that
trusts this CA sees it only on those hosts.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import ssl
from dataclasses import dataclass
from pathlib import Path

BASENAME = "mitmproxy"
KEY_SIZE = 2048
DEFAULT_CONFDIR = "~/.mitmproxy"
PEM_END = b"-----END CERTIFICATE-----"

# System trust bundles, most common first (Debian/Ubuntu/Alpine, RHEL/Fedora, macOS/BSD).
SYSTEM_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
)


@dataclass(frozen=True)
class CaFiles:
    """The files mitmproxy keeps in a confdir; ``key`` holds the private key: never share it."""

    confdir: Path

    @property
    def cert(self) -> Path:
        return self.confdir / f"{BASENAME}-ca-cert.pem"

    @property
    def p12(self) -> Path:
        """Certificate only, no key: for Windows and keystores that import PKCS#12."""
        return self.confdir / f"{BASENAME}-ca-cert.p12"

    @property
    def key(self) -> Path:
        return self.confdir / f"{BASENAME}-ca.pem"


def confdir_path(confdir: str | Path | None) -> Path:
    return Path(os.path.expanduser(str(confdir or DEFAULT_CONFDIR))).absolute()


def ensure_ca(confdir: str | Path | None = None) -> tuple[CaFiles, bool]:
    """The CA files in ``confdir``, created with mitmproxy's ``CertStore`` when missing.

    Returns the files and whether they were created now.
    """
    files = CaFiles(confdir_path(confdir))
    created = not files.key.exists()
    from mitmproxy import certs

    certs.CertStore.from_store(files.confdir, BASENAME, KEY_SIZE)
    if not files.cert.exists():  # a confdir holding only the key file (hand-made CA)
        pem = files.key.read_bytes()
        start = pem.index(b"-----BEGIN CERTIFICATE-----")
        files.cert.write_bytes(pem[start:pem.index(PEM_END, start) + len(PEM_END)] + b"\n")
    return files, created


def fingerprint(cert: Path) -> str:
    """SHA-256 fingerprint as ``AB:CD:…``, the form ``keytool`` and browsers show."""
    der = ssl.PEM_cert_to_DER_cert(cert.read_text("ascii"))
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def export(source: Path, out: Path) -> Path:
    """Copy a CA file to ``out`` (parents created); returns ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, out)
    return out


def system_bundle() -> Path | None:
    """The trust bundle this machine's OpenSSL uses, else certifi's (shipped with mitmproxy)."""
    paths = ssl.get_default_verify_paths()
    candidates = [os.environ.get("SSL_CERT_FILE"), paths.cafile, paths.openssl_cafile,
                  *SYSTEM_BUNDLES]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    try:
        import certifi
    except ImportError:
        return None
    return Path(certifi.where())


def write_bundle(cert: Path, out: Path, base: Path | None = None) -> Path:
    """``base`` (default: the system bundle) followed by the CA, for clients whose CA
    setting *replaces* their trust store (curl ``--cacert``, ``REQUESTS_CA_BUNDLE``,
    ``SSL_CERT_FILE``): non-partner HTTPS keeps verifying against the public CAs.
    """
    base = base or system_bundle()
    parts = [base.read_bytes().rstrip(b"\n") + b"\n"] if base is not None else []
    parts.append(cert.read_bytes())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(b"".join(parts))
    return out


def recipes(cert: Path, proxy: str = "http://127.0.0.1:8080",
            bundle: str = "imnot-bundle.pem") -> str:
    """Copy-paste recipes for trusting ``cert`` and using ``proxy``, per kind of client."""
    host_port = proxy.split("://", 1)[-1].rsplit("@", 1)[-1]
    host, _, port = host_port.rpartition(":")
    return f"""\
CA certificate: {cert}
Proxy:          {proxy}

Only partner hosts (their `hosts:`), the admin host and record hosts are decrypted; every other
HTTPS connection is tunnelled untouched with the real server's certificate. Trusting this CA
therefore changes nothing for other hosts. Where a setting REPLACES the client's trust store,
use a bundle of the system CAs plus this CA:
  imnot-proxy ca --bundle {bundle}

## Environment (most clients)
  export HTTPS_PROXY={proxy} https_proxy={proxy}
  export HTTP_PROXY={proxy} http_proxy={proxy}
  export NO_PROXY=localhost,127.0.0.1,::1 no_proxy=localhost,127.0.0.1,::1
  - the proxy URL is http:// even for HTTPS traffic (TLS goes through CONNECT).
  - set both cases: curl reads only lowercase http_proxy; some tools read only uppercase.
  - NO_PROXY: comma-separated names and .suffixes; *.wildcards and CIDR ranges work only in
    some clients. Keep localhost in it, or local calls go to the proxy too.
  - a session as the proxy user name: http://SESSION:x@{host_port} (give any password:
    some clients drop a user without one).

## curl
  curl -x {proxy} --cacert {cert} https://api.partner.example/path
  curl -x http://SESSION:x@{host_port} --cacert {cert} https://api.partner.example/path
  # --cacert replaces the system CAs: for non-partner HTTPS too, use --cacert {bundle}
  # curl ignores uppercase HTTP_PROXY (CGI safety): use http_proxy for plain http://

## Python
  requests: REQUESTS_CA_BUNDLE={bundle} HTTPS_PROXY={proxy} python app.py
  httpx, urllib, aiohttp (trust_env=True): SSL_CERT_FILE={bundle} HTTPS_PROXY={proxy} python app.py
  # both variables replace the default CAs, hence the bundle

## Node.js
  NODE_EXTRA_CA_CERTS={cert} node app.js      # adds to Node's CAs (read at start-up only)
  Node 24+ / 22.21+: NODE_USE_ENV_PROXY=1 (or node --use-env-proxy) makes fetch() and
    http/https honour HTTPS_PROXY/HTTP_PROXY/NO_PROXY.
  Older Node, fetch(): npm install undici, then before the first request
    import {{ setGlobalDispatcher, EnvHttpProxyAgent }} from 'undici';
    setGlobalDispatcher(new EnvHttpProxyAgent());
  Older Node, http/https/axios: npm install global-agent@3 (4.x breaks HTTPS via CONNECT);
    GLOBAL_AGENT_HTTP_PROXY={proxy} node -r global-agent/bootstrap app.js

## JVM (Java, Kotlin, Scala)
  cp "$JAVA_HOME/lib/security/cacerts" imnot-truststore.jks     # keep the public CAs
  keytool -importcert -noprompt -alias imnot-proxy -file {cert} \\
          -keystore imnot-truststore.jks -storepass changeit
  java -Dhttps.proxyHost={host} -Dhttps.proxyPort={port} \\
       -Dhttp.proxyHost={host} -Dhttp.proxyPort={port} \\
       -Dhttp.nonProxyHosts='localhost|127.*|[::1]' \\
       -Djavax.net.ssl.trustStore=imnot-truststore.jks -Djavax.net.ssl.trustStorePassword=changeit \\
       -jar app.jar
  - the JVM ignores HTTPS_PROXY; http.nonProxyHosts covers https too (there is no
    https.nonProxyHosts); '|' separates, '*' only at either end.
  - HttpURLConnection and java.net.http.HttpClient use these properties; Apache HttpClient
    needs useSystemProperties(), Reactor Netty/WebClient needs its own proxy setting.
  - the JVM sends proxy credentials only after a 407, which imnot never sends: use the
    X-Imnot-Session header for sessions.

## .NET
  Linux/macOS: HttpClient reads HTTPS_PROXY/HTTP_PROXY/NO_PROXY; trust via the system store
    (below) or SSL_CERT_FILE={bundle}.
  Windows: certutil -addstore -f Root {cert.with_suffix('.cer')}   (or Import-Certificate into
    Cert:\\LocalMachine\\Root); proxy via HTTPS_PROXY or the system proxy settings.

## System trust store
  Debian/Ubuntu: cp {cert} /usr/local/share/ca-certificates/imnot-proxy.crt && update-ca-certificates
  RHEL/Fedora:   cp {cert} /etc/pki/ca-trust/source/anchors/imnot-proxy.pem && update-ca-trust
  (.crt is required on Debian; undo by deleting the file and running the command again)
"""
