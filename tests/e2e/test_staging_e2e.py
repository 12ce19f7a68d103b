"""The recipes of docs/staging.md, each run for real: ``imnot-proxy ca`` and ``start`` as
processes, and curl, Python, Node and the JVM as the staging system's clients.

The partner host ``api.acme.test`` does not resolve: mocking must never need it. The
non-partner HTTPS host is a local ``TlsUpstreamServer`` with its own CA, reached as
``localhost``; a client trusting only that CA proves the proxy left its TLS alone.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from .harness import (
    IMNOT_CLI,
    LOCALHOST,
    ForwardProxy,
    Launcher,
    TlsUpstreamServer,
    UpstreamServer,
    environment,
    free_port,
    proxied_request,
    tls_get,
    wait_until,
)
from .harness import run as run_process

REPO = Path(__file__).resolve().parents[2]
PARTNER_HOST = "api.acme.test"
ADMIN_KEY = "staging-secret"
NODE_MODULES = Path(os.environ.get("IMNOT_NODE_MODULES", REPO / ".ci" / "node" / "node_modules"))

LOCAL_DATAPOINT = {
    "name": "local", "pattern": "static",
    "endpoints": [{"method": "GET", "path": "/local",
                   "response": {"status": 200, "body": {"mocked": "localhost"}}}],
}
WritePartner = Callable[..., Path]


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any proxy or CA setting, plus ``extra``."""
    return environment(extra, drop_proxy_settings=True)


def run(cmd: list[str], env: Mapping[str, str] | None = None, cwd: Path | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``cmd`` to completion in exactly ``env`` (default: ``clean_env()``)."""
    return run_process(cmd, env=env or clean_env(), inherit_env=False, cwd=cwd, timeout=timeout)


def imnot(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run([*IMNOT_CLI, *args], env=env)


def leaf_der(server: TlsUpstreamServer) -> bytes:
    """The certificate the TLS server itself presents (first in its chain file)."""
    chain = (server.cert_path.parent / "chain.pem").read_text("ascii")
    first = chain[:chain.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]
    return ssl.PEM_cert_to_DER_cert(first)


@dataclass
class Staging:
    """One proxy started as docs/staging.md says, and the files a staging system gets."""

    proxy: Launcher
    ca: Path          # exported with `imnot-proxy ca --out` before the first start
    bundle: Path      # `imnot-proxy ca --bundle --base <the TLS server's CA>`
    tls: TlsUpstreamServer
    ca_output: str

    @property
    def port(self) -> int:
        return self.proxy.port

    @property
    def url(self) -> str:
        return self.proxy.url

    def admin(self, method: str, path: str, body: object = None,
              key: str | None = ADMIN_KEY) -> tuple[int, object]:
        request = urllib.request.Request(f"{self.url}/imnot/admin/{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode())
        if key:
            request.add_header("Authorization", f"Bearer {key}")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")


@pytest.fixture(scope="module")
def tls_server() -> Iterator[TlsUpstreamServer]:
    with TlsUpstreamServer(lambda m, p, h, b: (200, {}, {"real": "tls", "path": p})) as server:
        yield server


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory, tls_server: TlsUpstreamServer,
            write_hello_partner: WritePartner) -> Iterator[Staging]:
    work = tmp_path_factory.mktemp("staging")
    write_hello_partner(work / "partners")
    conf = work / "conf"
    exported = imnot("ca", "--confdir", str(conf), "--out", str(work / "imnot-ca.pem"))
    assert exported.returncode == 0, exported.stderr
    bundled = imnot("ca", "--confdir", str(conf), "--bundle", str(work / "bundle.pem"),
                    "--base", str(tls_server.cert_path))
    assert bundled.returncode == 0, bundled.stderr
    proxy = Launcher.imnot_start(work, "--host", "0.0.0.0", "--partners", "partners",
                                 confdir=conf, env={"IMNOT_ADMIN_KEY": ADMIN_KEY})
    with proxy:
        yield Staging(proxy, work / "imnot-ca.pem", work / "bundle.pem", tls_server,
                      exported.stdout + exported.stderr)
        assert "Traceback" not in proxy.log_text(), proxy.log_text()


# --------------------------------------------------------------------------- start, CA


def test_ca_made_before_the_first_start_is_the_one_the_proxy_uses(staging: Staging) -> None:
    assert "created a new CA" in staging.ca_output
    # Verified against the exported PEM alone: the proxy signed with that CA.
    answer = tls_get(staging.port, PARTNER_HOST, 443, "/hello", staging.ca)
    assert (answer.reply.status, answer.reply.json()) == (200, {"hello": "acme"})
    assert "CN=mitmproxy" in answer.issuer
    assert (staging.proxy.workdir / "partners").is_dir()
    assert (staging.proxy.workdir / "imnot.db").exists()  # beside partners/, as documented


def test_admin_key_guards_the_admin_api_when_listening_on_all_interfaces(
        staging: Staging) -> None:
    assert staging.admin("GET", "partners", key=None)[0] == 401
    assert staging.admin("GET", "partners", key="wrong")[0] == 401
    status, partners = staging.admin("GET", "partners")
    assert status == 200 and "acme" in json.dumps(partners)
    health = urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
        f"{staging.url}/healthz", timeout=10)
    assert health.status == 200
    done = imnot("status", "--url", staging.url, env=clean_env(IMNOT_ADMIN_KEY=ADMIN_KEY))
    assert done.returncode == 0, done.stderr
    assert "acme" in done.stdout
    assert "without an admin key" not in staging.proxy.log_text()


def test_partner_https_is_mocked_and_other_https_passes_through_untouched(
        staging: Staging) -> None:
    tls = staging.tls
    mocked = tls_get(staging.port, PARTNER_HOST, 443, "/hello", staging.bundle)
    assert (mocked.reply.status, mocked.reply.json()) == (200, {"hello": "acme"})
    assert "CN=mitmproxy" in mocked.issuer

    before = len(tls.requests)
    passed = tls_get(staging.port, "localhost", tls.port, "/real?x=1", tls.cert_path)
    assert (passed.reply.status, passed.reply.json()) == (200, {"real": "tls", "path": "/real?x=1"})
    assert passed.peer_der == leaf_der(tls)  # the server's own certificate, not a forged one
    assert "harness test CA" in passed.issuer
    assert len(tls.requests) == before + 1

    # The same trust-only-the-server client refuses the partner host: it is the proxy's.
    with pytest.raises(ssl.SSLCertVerificationError):
        tls_get(staging.port, PARTNER_HOST, 443, "/hello", tls.cert_path)


def test_reload_adding_a_host_to_hosts_starts_intercepting_it(
        tmp_path: Path, tls_server: TlsUpstreamServer, write_hello_partner: WritePartner) -> None:
    partners = tmp_path / "partners"
    write_hello_partner(partners)
    conf = tmp_path / "conf"
    assert imnot("ca", "--confdir", str(conf), "--bundle", str(tmp_path / "bundle.pem"),
                 "--base", str(tls_server.cert_path)).returncode == 0
    with Launcher.imnot_start(tmp_path, "--partners", partners, confdir=conf) as proxy:
        before = tls_get(proxy.port, "localhost", tls_server.port, "/local", tls_server.cert_path)
        assert before.reply.json() == {"real": "tls", "path": "/local"}
        assert before.peer_der == leaf_der(tls_server)
        seen = len(tls_server.requests)

        write_hello_partner(partners, hosts=[PARTNER_HOST, "localhost"],
                            datapoints=[LOCAL_DATAPOINT])
        reload = proxied_request(proxy.url, "POST", "http://imnot.proxy/imnot/admin/reload")
        assert reload.status == 200, reload.text

        after = tls_get(proxy.port, "localhost", tls_server.port, "/local", tmp_path / "bundle.pem")
        assert (after.reply.status, after.reply.json()) == (200, {"mocked": "localhost"})
        assert "CN=mitmproxy" in after.issuer
        assert len(tls_server.requests) == seen  # answered by the proxy, never forwarded
        with pytest.raises(ssl.SSLCertVerificationError):
            tls_get(proxy.port, "localhost", tls_server.port, "/local", tls_server.cert_path)


def test_session_as_proxy_user_name_over_https_and_http(staging: Staging,
                                                         tmp_path: Path) -> None:
    status, _ = staging.admin("POST", "acme/items/payload", {"items": ["global"]})
    assert status == 200
    payload = tmp_path / "payload.json"
    payload.write_text('{"items": ["mine"]}', encoding="utf-8")
    made = imnot("payload", "set", "acme", "items", str(payload), "--session",
                 "--url", staging.url, env=clean_env(IMNOT_ADMIN_KEY=ADMIN_KEY))
    assert made.returncode == 0, made.stderr
    sid = made.stdout.strip()
    mine = tls_get(staging.port, PARTNER_HOST, 443, "/items", staging.ca, user=sid)
    assert mine.reply.json() == {"items": ["mine"]}
    assert tls_get(staging.port, PARTNER_HOST, 443, "/items", staging.ca).reply.json() == {
        "items": ["global"]}
    proxy = f"http://{sid}:x@{LOCALHOST}:{staging.port}"
    plain = proxied_request(proxy, "GET", f"http://{PARTNER_HOST}/items")
    assert plain.json() == {"items": ["mine"]}

    status, other = staging.admin("POST", "acme/items/payload/session", {"items": ["header"]})
    assert status == 200 and isinstance(other, dict)
    by_header = proxied_request(proxy, "GET", f"http://{PARTNER_HOST}/items",
                                headers={"X-Imnot-Session": other["session_id"]})
    assert by_header.json() == {"items": ["header"]}  # the header wins over the user name


# --------------------------------------------------------------------------- curl


def curl(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run(["curl", "-sS", "--max-time", "10", *args], env=env)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_recipes(staging: Staging) -> None:
    proxy = staging.url
    done = curl("-x", proxy, "--cacert", str(staging.ca), f"https://{PARTNER_HOST}/hello")
    assert (done.returncode, json.loads(done.stdout or "null")) == (0, {"hello": "acme"}), done.stderr

    # One bundle for both kinds of host: the mock and a real server's own certificate.
    for url, expected in ((f"https://{PARTNER_HOST}/hello", {"hello": "acme"}),
                          (f"https://localhost:{staging.tls.port}/r", {"real": "tls", "path": "/r"})):
        done = curl("-x", proxy, "--cacert", str(staging.bundle), url)
        assert json.loads(done.stdout or "null") == expected, done.stderr
        done = curl(url, env=clean_env(HTTPS_PROXY=proxy, CURL_CA_BUNDLE=str(staging.bundle)))
        assert json.loads(done.stdout or "null") == expected, done.stderr

    status, made = staging.admin("POST", "acme/items/payload/session", {"items": ["curl"]})
    assert status == 200 and isinstance(made, dict)
    done = curl("-x", f"http://{made['session_id']}:x@{LOCALHOST}:{staging.port}",
                "--cacert", str(staging.ca), f"https://{PARTNER_HOST}/items")
    assert json.loads(done.stdout or "null") == {"items": ["curl"]}, done.stderr


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_proxy_variable_pitfalls(staging: Staging) -> None:
    """Uppercase HTTP_PROXY is ignored by curl, lowercase works, NO_PROXY bypasses.

    ``--resolve`` sends a direct request to a closed local port, so "not proxied" shows as
    a refused connection without any DNS lookup.
    """
    closed = free_port()
    url = f"http://{PARTNER_HOST}:{closed}/hello"
    resolve = ["--resolve", f"{PARTNER_HOST}:{closed}:{LOCALHOST}"]
    ignored = curl(*resolve, url, env=clean_env(HTTP_PROXY=staging.url))
    assert ignored.returncode == 7, ignored  # connection refused: went direct
    used = curl(*resolve, url, env=clean_env(http_proxy=staging.url))
    assert json.loads(used.stdout or "null") == {"hello": "acme"}, used.stderr
    bypassed = curl(*resolve, url, env=clean_env(http_proxy=staging.url, NO_PROXY=PARTNER_HOST))
    assert bypassed.returncode == 7, bypassed


# --------------------------------------------------------------------------- Python

PY_CLIENT = """\
import json, sys
lib, urls = sys.argv[1], sys.argv[2:]
out = []
for url in urls:
    if lib == "urllib":
        import urllib.request
        out.append(json.loads(urllib.request.urlopen(url, timeout=10).read()))
    elif lib == "requests":
        import requests
        out.append(requests.get(url, timeout=10).json())
    else:
        import httpx
        out.append(httpx.get(url, timeout=10).json())
print(json.dumps(out))
"""


@pytest.mark.parametrize(("lib", "ca_variable"), [
    ("urllib", "SSL_CERT_FILE"), ("requests", "REQUESTS_CA_BUNDLE"), ("httpx", "SSL_CERT_FILE")])
def test_python_recipes(staging: Staging, tmp_path: Path, lib: str, ca_variable: str) -> None:
    if lib != "urllib":
        pytest.importorskip(lib)
    script = tmp_path / "client.py"
    script.write_text(PY_CLIENT, encoding="utf-8")
    urls = [f"https://{PARTNER_HOST}/hello", f"https://localhost:{staging.tls.port}/py"]
    env = clean_env(HTTPS_PROXY=staging.url, **{ca_variable: str(staging.bundle)})
    done = run([sys.executable, str(script), lib, *urls], env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{"hello": "acme"}, {"real": "tls", "path": "/py"}]


# --------------------------------------------------------------------------- Node.js

NODE_CONNECT = """\
const http = require('http'), https = require('https');
const [proxyPort, host, port, path] = process.argv.slice(2);
const req = http.request({host: '127.0.0.1', port: +proxyPort, method: 'CONNECT',
                          path: `${host}:${port}`});
req.on('connect', (res, socket) => {
  if (res.statusCode !== 200) { console.error('CONNECT', res.statusCode); process.exit(2); }
  https.get({host, port: +port, path, socket, servername: host, agent: false}, (r) => {
    let body = ''; r.on('data', (d) => { body += d; });
    r.on('end', () => { console.log(body); process.exit(0); });
  }).on('error', (e) => { console.error(e.message); process.exit(3); });
});
req.on('error', (e) => { console.error(e.message); process.exit(4); });
req.end();
"""

NODE_FETCH = """\
if (process.argv[2] === 'undici') {
  const { setGlobalDispatcher, EnvHttpProxyAgent } = require('undici');
  setGlobalDispatcher(new EnvHttpProxyAgent());
}
fetch(process.argv[3]).then((r) => r.text()).then((t) => { console.log(t); })
  .catch((e) => { console.error(e.cause || e); process.exit(3); });
"""

NODE_HTTPS_GET = """\
require('https').get(process.argv[2], (r) => {
  let body = ''; r.on('data', (d) => { body += d; });
  r.on('end', () => { console.log(body); });
}).on('error', (e) => { console.error(e.message); process.exit(3); });
"""


def node_supports(flag: str) -> bool:
    return run(["node", flag, "-e", "0"]).returncode == 0


needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@needs_node
def test_node_extra_ca_certs(staging: Staging, tmp_path: Path) -> None:
    script = tmp_path / "connect.js"
    script.write_text(NODE_CONNECT, encoding="utf-8")
    env = clean_env(NODE_EXTRA_CA_CERTS=str(staging.ca))
    done = run(["node", str(script), str(staging.port), PARTNER_HOST, "443", "/hello"], env=env)
    assert (done.returncode, done.stdout.strip()) == (0, '{"hello":"acme"}'), done.stderr
    untrusted = run(["node", str(script), str(staging.port), PARTNER_HOST, "443", "/hello"])
    assert untrusted.returncode == 3 and "certificate" in untrusted.stderr


@needs_node
@pytest.mark.parametrize("how", ["--use-env-proxy", "undici"])
def test_node_fetch_through_the_proxy(staging: Staging, tmp_path: Path, how: str) -> None:
    script = tmp_path / "fetch.js"
    script.write_text(NODE_FETCH, encoding="utf-8")
    env = clean_env(HTTPS_PROXY=staging.url, NODE_EXTRA_CA_CERTS=str(staging.ca))
    if how == "undici":
        if not (NODE_MODULES / "undici").is_dir():
            pytest.skip(f"undici not installed in {NODE_MODULES} (npm install undici)")
        env["NODE_PATH"] = str(NODE_MODULES)
        cmd = ["node", str(script), "undici"]
    else:
        if not node_supports(how):
            pytest.skip(f"this node has no {how} (Node 24, 22.21+)")
        cmd = ["node", how, str(script), "env"]
    done = run([*cmd, f"https://{PARTNER_HOST}/hello"], env=env)
    assert (done.returncode, done.stdout.strip()) == (0, '{"hello":"acme"}'), done.stderr


@needs_node
def test_node_global_agent(staging: Staging, tmp_path: Path) -> None:
    if not (NODE_MODULES / "global-agent").is_dir():
        pytest.skip(f"global-agent not installed in {NODE_MODULES} (npm install global-agent)")
    script = tmp_path / "get.js"
    script.write_text(NODE_HTTPS_GET, encoding="utf-8")
    env = clean_env(GLOBAL_AGENT_HTTP_PROXY=staging.url, NODE_EXTRA_CA_CERTS=str(staging.ca),
                    NODE_PATH=str(NODE_MODULES))
    # global-agent 3; 4.x sends no SNI through the tunnel and fails hostname verification.
    # `-r` resolves from the working directory, as in an app folder with its node_modules.
    done = run(["node", "-r", "global-agent/bootstrap", str(script),
                f"https://{PARTNER_HOST}/hello"], env=env, cwd=NODE_MODULES.parent)
    assert (done.returncode, done.stdout.strip()) == (0, '{"hello":"acme"}'), done.stderr


# --------------------------------------------------------------------------- JVM

JAVA_CLIENT = """\
import java.io.InputStream;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import javax.net.ssl.HttpsURLConnection;
import java.security.cert.X509Certificate;

public class Client {
    public static void main(String[] args) throws Exception {
        String url = args[0];
        HttpsURLConnection conn = (HttpsURLConnection) new URL(url).openConnection();
        if (args.length > 1) conn.setRequestProperty("X-Imnot-Session", args[1]);
        int status = conn.getResponseCode();
        String issuer = ((X509Certificate) conn.getServerCertificates()[0])
            .getIssuerX500Principal().getName();
        try (InputStream in = conn.getInputStream()) {
            System.out.println("urlconnection " + status + " " + new String(in.readAllBytes())
                               + " " + issuer);
        }
        HttpClient client = HttpClient.newHttpClient();
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(url)).build(),
                                             HttpResponse.BodyHandlers.ofString());
        System.out.println("httpclient " + r.statusCode() + " " + r.body());
    }
}
"""


@pytest.mark.skipif(shutil.which("java") is None or shutil.which("keytool") is None,
                    reason="java/keytool are not installed")
def test_jvm_truststore_and_proxy_properties(staging: Staging, tmp_path: Path) -> None:
    settings = run(["java", "-XshowSettings:properties", "-version"]).stderr
    java_home = Path(next(line.split("=", 1)[1].strip() for line in settings.splitlines()
                          if line.strip().startswith("java.home")))
    truststore = tmp_path / "imnot-truststore.jks"
    shutil.copyfile(java_home / "lib" / "security" / "cacerts", truststore)
    imported = run(["keytool", "-importcert", "-noprompt", "-alias", "imnot-proxy",
                    "-file", str(staging.ca), "-keystore", str(truststore),
                    "-storepass", "changeit"])
    assert imported.returncode == 0, imported.stdout + imported.stderr

    status, made = staging.admin("POST", "acme/items/payload/session", {"items": ["jvm"]})
    assert status == 200 and isinstance(made, dict)
    (tmp_path / "Client.java").write_text(JAVA_CLIENT, encoding="utf-8")
    port = str(staging.port)
    java = ["java", f"-Dhttps.proxyHost={LOCALHOST}", f"-Dhttps.proxyPort={port}",
            f"-Dhttp.proxyHost={LOCALHOST}", f"-Dhttp.proxyPort={port}",
            "-Dhttp.nonProxyHosts=localhost|127.*|[::1]",
            f"-Djavax.net.ssl.trustStore={truststore}",
            "-Djavax.net.ssl.trustStorePassword=changeit", str(tmp_path / "Client.java")]
    done = run([*java, f"https://{PARTNER_HOST}/hello"], cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    first = next(line for line in done.stdout.splitlines() if line.startswith("urlconnection"))
    assert first.startswith('urlconnection 200 {"hello":"acme"} ') and "CN=mitmproxy" in first
    assert 'httpclient 200 {"hello":"acme"}' in done.stdout
    done = run([*java, f"https://{PARTNER_HOST}/items", made["session_id"]], cwd=tmp_path,
               timeout=120)
    assert 'urlconnection 200 {"items":["jvm"]}' in done.stdout, done.stdout + done.stderr


# --------------------------------------------------------------------------- system store


@pytest.mark.skipif(shutil.which("update-ca-certificates") is None or shutil.which("curl") is None,
                    reason="Debian's update-ca-certificates or curl is missing")
def test_debian_system_store_recipe(staging: Staging, tmp_path: Path) -> None:
    """The Debian recipe, run against a private copy of the store layout: a ``.crt`` in the
    local directory lands in the bundle; a ``.pem`` there is ignored."""
    local, etc, empty = tmp_path / "local", tmp_path / "etc", tmp_path / "empty"
    for folder in (local, etc, empty):
        folder.mkdir()
    conf = tmp_path / "ca-certificates.conf"
    conf.write_text("", encoding="utf-8")
    shutil.copyfile(staging.ca, local / "imnot-proxy.pem")
    store = ["update-ca-certificates", "--certsconf", str(conf), "--certsdir", str(empty),
             "--localcertsdir", str(local), "--etccertsdir", str(etc), "--hooksdir", str(empty)]
    assert run(store).returncode == 0
    bundle = etc / "ca-certificates.crt"
    assert not bundle.exists() or staging.ca.read_text().strip() not in bundle.read_text()

    (local / "imnot-proxy.pem").rename(local / "imnot-proxy.crt")
    done = run([*store, "--fresh"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert staging.ca.read_text().strip() in bundle.read_text()
    done = curl(f"https://{PARTNER_HOST}/hello",
                env=clean_env(HTTPS_PROXY=staging.url, SSL_CERT_FILE=str(bundle),
                              CURL_CA_BUNDLE=str(bundle)))
    assert json.loads(done.stdout or "null") == {"hello": "acme"}, done.stderr


# --------------------------------------------------------------------------- upstream proxy


@pytest.fixture
def chained(tmp_path: Path, tls_server: TlsUpstreamServer,
            write_hello_partner: WritePartner) -> Iterator[
        tuple[Launcher, ForwardProxy, UpstreamServer, Path]]:
    write_hello_partner(tmp_path / "partners")
    with ForwardProxy() as corp, UpstreamServer() as plain:
        proxy = Launcher.imnot_start(
            tmp_path, "--partners", tmp_path / "partners", "--upstream", corp.url,
            confdir=tmp_path / "conf",
            mitmproxy_args=["--set", "imnot_record_hosts=localhost",
                            "--set", f"imnot_recordings={tmp_path / 'recordings'}",
                            "--set", f"ssl_verify_upstream_trusted_ca={tls_server.cert_path}"])
        with proxy:
            yield proxy, corp, plain, tmp_path
            assert "Traceback" not in proxy.log_text(), proxy.log_text()


def test_upstream_proxy_carries_passthrough_and_record_traffic_never_mocks(
        chained: tuple[Launcher, ForwardProxy, UpstreamServer, Path],
        tls_server: TlsUpstreamServer) -> None:
    proxy, corp, plain, tmp_path = chained
    ca = tmp_path / "conf" / "mitmproxy-ca-cert.pem"
    # mitmproxy logs its mode once the listener is up, which may be just after it accepts.
    wait_until(lambda: "upstream mode" in proxy.log_text(), timeout=10,
               message="no upstream mode line in the log")

    # Mocked, over HTTP and HTTPS: the corporate proxy sees nothing.
    assert proxied_request(proxy.url, "GET", f"http://{PARTNER_HOST}/hello").json() == {
        "hello": "acme"}
    assert tls_get(proxy.port, PARTNER_HOST, 443, "/hello", ca).reply.json() == {
        "hello": "acme"}
    assert corp.seen == []

    # Passthrough (127.0.0.1 is no partner and no record host): through the corporate proxy.
    reply = proxied_request(proxy.url, "GET", f"http://{LOCALHOST}:{plain.port}/pass")
    assert reply.json() == {"upstream": True, "path": "/pass"}
    passed = tls_get(proxy.port, LOCALHOST, tls_server.port, "/pass", tls_server.cert_path)
    assert passed.peer_der == leaf_der(tls_server)

    # Record mode (localhost is a record host): forwarded through it as well, and recorded.
    reply = proxied_request(proxy.url, "GET", f"http://localhost:{plain.port}/rec")
    assert reply.json() == {"upstream": True, "path": "/rec"}
    recorded = tls_get(proxy.port, "localhost", tls_server.port, "/rec", ca)
    assert recorded.reply.json() == {"real": "tls", "path": "/rec"}
    assert "CN=mitmproxy" in recorded.issuer  # decrypted to be recorded

    assert [(s.method, s.target) for s in corp.seen] == [
        ("GET", f"http://{LOCALHOST}:{plain.port}/pass"),
        ("CONNECT", f"{LOCALHOST}:{tls_server.port}"),
        ("GET", f"http://localhost:{plain.port}/rec"),
        ("CONNECT", f"localhost:{tls_server.port}"),
    ]
    def recorded_urls() -> list[str]:  # written off the event loop, within moments
        return [e["request"]["url"] for f in (tmp_path / "recordings").glob("*.har")
                for e in json.loads(f.read_text())["log"]["entries"]]

    urls = wait_until(lambda: len(recorded_urls()) >= 2 and recorded_urls(), timeout=10,
                      message="nothing recorded")
    assert f"http://localhost:{plain.port}/rec" in urls
    assert f"https://localhost:{tls_server.port}/rec" in urls


@pytest.fixture
def corp_with_login(tmp_path: Path, write_hello_partner: WritePartner) -> Iterator[
        tuple[Launcher, ForwardProxy, UpstreamServer]]:
    write_hello_partner(tmp_path / "partners")
    with ForwardProxy() as corp, UpstreamServer() as plain:
        upstream = f"http://corp%40user:p%3Ass@{LOCALHOST}:{corp.port}"
        proxy = Launcher.imnot_start(tmp_path, "--partners", tmp_path / "partners",
                                     "--upstream", upstream, confdir=tmp_path / "conf")
        with proxy:
            yield proxy, corp, plain


CORP_LOGIN = "Basic Y29ycEB1c2VyOnA6c3M="  # corp@user:p:ss


def test_upstream_credentials_go_on_the_connect(
        corp_with_login: tuple[Launcher, ForwardProxy, UpstreamServer],
        tls_server: TlsUpstreamServer) -> None:
    proxy, corp, _ = corp_with_login
    passed = tls_get(proxy.port, LOCALHOST, tls_server.port, "/x", tls_server.cert_path,
                     user="session-1")
    assert passed.reply.json() == {"real": "tls", "path": "/x"}
    assert [(s.method, s.proxy_authorization) for s in corp.seen] == [("CONNECT", CORP_LOGIN)]


def test_upstream_credentials_on_plain_http_are_neither_a_session_nor_dropped(
        corp_with_login: tuple[Launcher, ForwardProxy, UpstreamServer]) -> None:
    proxy, corp, plain = corp_with_login
    proxied_request(f"http://s-plain:x@{LOCALHOST}:{proxy.port}", "GET",
                    f"http://{PARTNER_HOST}/hello")
    reply = proxied_request(proxy.url, "GET", f"http://{LOCALHOST}:{plain.port}/p")
    assert reply.status == 200
    assert [(s.method, s.proxy_authorization) for s in corp.seen] == [("GET", CORP_LOGIN)]
    assert "session corp@user" not in proxy.log_text()
    assert "imnot mock acme/hello · session s-plain" in proxy.log_text()


def test_upstream_flag_becomes_mitmproxy_upstream_mode() -> None:
    from imnot_proxy.cli.start import upstream_argv

    assert upstream_argv("http://corp:3128") == ["--mode", "upstream:http://corp:3128"]
    assert upstream_argv("corp:3128") == ["--mode", "upstream:http://corp:3128"]
    assert upstream_argv("https://u:p%40ss@corp") == [
        "--mode", "upstream:https://corp:443", "--set", "imnot_upstream_auth=u:p@ss"]
    with pytest.raises(SystemExit):
        upstream_argv("socks5://corp:1080")


def test_logs_show_one_line_per_partner_request(staging: Staging) -> None:
    proxied_request(staging.url, "GET", f"http://{PARTNER_HOST}/nope")
    proxied_request(staging.url, "GET", f"http://{PARTNER_HOST}/hello")
    log = staging.proxy.log_text()
    assert "imnot miss GET /nope" in log
    assert "imnot mock acme/hello -> 200" in log
    status, journal = staging.admin("GET", "journal?limit=2")
    assert status == 200 and isinstance(journal, list)
    assert [(e["kind"], e["url"], e["status"]) for e in journal] == [
        ("mock", f"http://{PARTNER_HOST}/hello", 200), ("miss", f"http://{PARTNER_HOST}/nope", 404)]
