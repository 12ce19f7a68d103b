"""The Redis store over TLS (``rediss://``, a private CA, mutual TLS) and over a unix socket,
against real redis-servers: the store contract, and the one masked line that says what to
change when the certificate, the CA file or the client certificate is wrong."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from redis_server import CertAuthority, RedisServer, Tls
from store_contract import StoreContract

from imnot_proxy.errors import StoreError
from imnot_proxy.store import Store, open_store
from imnot_proxy.store.redis import RedisStore, parse

PASSWORD = "tls-s3cret"


@pytest.fixture(scope="module")
def ca(tmp_path_factory) -> CertAuthority:
    return CertAuthority(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def mutual_tls(tmp_path_factory, ca: CertAuthority) -> Iterator[RedisServer]:
    """TLS only, a certificate for 127.0.0.1 and localhost, client certificates required."""
    tls = Tls(ca.issue("server"), auth_clients="yes",
              client=ca.issue("client", ["imnot client"], client=True))
    server = RedisServer(tmp_path_factory.mktemp("redis-tls"), password=PASSWORD, aof=False,
                         tls=tls)
    yield server.start()
    server.shutdown()


@pytest.fixture(scope="module")
def unix_socket(tmp_path_factory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis-unix"), password=PASSWORD, aof=False,
                         unix=True)
    yield server.start()
    server.shutdown()


class TestStoreOverTransports(StoreContract):
    """The whole contract (payloads, sessions, ids, callbacks, faults, a second instance that
    sees changes within 100 ms) over mutual TLS with a private CA, and over a unix socket."""

    @pytest.fixture(params=["rediss", "unix"])
    def reopen(self, request, clock) -> Callable[[], Store]:
        prefix = f"prefix=t-{uuid.uuid4().hex[:12]}"
        if request.param == "rediss":
            server = request.getfixturevalue("mutual_tls")
            url = parse(f"{server.url}?{server.tls_query()}&{prefix}")
            assert url.client_options()["ssl_certfile"]
        else:
            server = request.getfixturevalue("unix_socket")
            url = parse(f"{server.url}?db=2&{prefix}")  # unix://:password@/path/redis.sock
        return lambda: RedisStore(url, clock=clock)

    @pytest.fixture
    def store(self, reopen) -> Iterator[Store]:
        opened = reopen()
        yield opened
        opened.close()


def test_the_unix_socket_store_uses_the_database_of_its_url(unix_socket: RedisServer):
    import redis

    store = open_store(f"{unix_socket.url}?db=3&prefix=dbcheck")
    try:
        store.put_global("p", "d", b"{}")
    finally:
        store.close()
    for db, found in ((3, True), (0, False)):
        client = redis.Redis(unix_socket_path=str(unix_socket.socket_path), db=db,
                             password=PASSWORD)
        try:
            assert bool(client.keys("*dbcheck*")) is found
        finally:
            client.close()


def cannot_open(url: str) -> str:
    with pytest.raises(StoreError) as raised:
        open_store(url)
    line = str(raised.value)
    assert "\n" not in line and PASSWORD not in line
    return line


def test_a_wrong_password_over_the_unix_socket_is_masked(unix_socket: RedisServer):
    with pytest.raises(StoreError) as raised:
        open_store(f"unix://:not-{PASSWORD}@{unix_socket.socket_path}?db=0")
    line = str(raised.value)
    assert line.startswith(f"cannot open store unix://:****@{unix_socket.socket_path}?db=0: ")
    assert "not-" not in line and PASSWORD not in line


def tls_url(server: RedisServer, query: str) -> str:
    return f"rediss://:{PASSWORD}@127.0.0.1:{server.port}/0?{query}"


def test_a_certificate_from_another_ca_is_refused_naming_the_masked_url(
        mutual_tls: RedisServer, tmp_path: Path):
    other = CertAuthority(tmp_path / "other", "another CA")
    url = tls_url(mutual_tls, f"ssl_ca_certs={other.pem}")
    line = cannot_open(url)
    assert line.startswith(f"cannot open store rediss://:****@127.0.0.1:{mutual_tls.port}/0?")
    assert "CERTIFICATE_VERIFY_FAILED" in line
    assert line.endswith("; the server's certificate is not signed by the CA in ssl_ca_certs")


def test_without_ssl_ca_certs_the_system_trust_store_decides(
        mutual_tls: RedisServer, monkeypatch):
    client = mutual_tls.tls.client
    query = f"ssl_certfile={client.cert}&ssl_keyfile={client.key}&prefix=sys-{uuid.uuid4().hex}"
    line = cannot_open(tls_url(mutual_tls, query))
    assert line.endswith("; the server's certificate is not signed by a CA this host trusts: "
                         "name its CA with ?ssl_ca_certs=/path/ca.pem")
    monkeypatch.setenv("SSL_CERT_FILE", str(mutual_tls.tls.server.ca))  # OpenSSL's default
    open_store(tls_url(mutual_tls, query)).close()


@pytest.mark.parametrize(("query", "said"), [
    ("ssl_ca_certs={missing}", "ssl_ca_certs '{missing}': no such file"),
    ("ssl_ca_certs={log}", "ssl_ca_certs '{log}' holds no PEM certificate"),
    ("ssl_ca_certs={ca}&ssl_certfile={missing}&ssl_keyfile={key}",
     "ssl_certfile '{missing}': no such file"),
    ("ssl_ca_certs={ca}&ssl_certfile={cert}&ssl_keyfile={cert}",
     "ssl_certfile '{cert}' and ssl_keyfile '{cert}': not a PEM certificate with its "
     "unencrypted private key"),
])
def test_a_wrong_file_is_named_before_connecting(mutual_tls: RedisServer, tmp_path: Path,
                                                  query: str, said: str):
    files = {"missing": str(tmp_path / "nope" / "ca.pem"), "log": str(mutual_tls.folder /
             "redis.log"), "ca": str(mutual_tls.tls.server.ca),
             "cert": str(mutual_tls.tls.client.cert), "key": str(mutual_tls.tls.client.key)}
    line = cannot_open(tls_url(mutual_tls, query.format(**files)))
    assert line.endswith(": " + said.format(**files)), line
    assert line.startswith("cannot open store rediss://:****@")


def test_the_client_key_may_be_in_the_certificate_file(mutual_tls: RedisServer,
                                                       tmp_path: Path):
    issued = mutual_tls.tls.client
    both = tmp_path / "client-and-key.pem"
    both.write_bytes(issued.cert.read_bytes() + issued.key.read_bytes())
    store = open_store(tls_url(mutual_tls, f"ssl_ca_certs={issued.ca}&ssl_certfile={both}"
                                           "&prefix=onefile"))
    store.close()


def test_a_client_key_with_a_passphrase_is_refused_without_asking_for_it(
        mutual_tls: RedisServer, tmp_path: Path):
    from cryptography.hazmat.primitives import serialization

    issued = mutual_tls.tls.client
    key = serialization.load_pem_private_key(issued.key.read_bytes(), None)
    locked = tmp_path / "locked.key"
    locked.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.BestAvailableEncryption(b"pass")))
    query = f"ssl_ca_certs={issued.ca}&ssl_certfile={issued.cert}&ssl_keyfile={locked}"
    assert "unencrypted private key" in cannot_open(tls_url(mutual_tls, query))


def test_mutual_tls_without_a_client_certificate_says_to_add_one(mutual_tls: RedisServer):
    line = cannot_open(tls_url(mutual_tls, f"ssl_ca_certs={mutual_tls.tls.server.ca}"))
    # the server's alert, or (TLS 1.3 races) a connection closed under the first command
    assert line.endswith(("; the server requires a client certificate: add ssl_certfile= and "
                          "ssl_keyfile=", "; if the server requires a client certificate, add "
                          "ssl_certfile= and ssl_keyfile=")), line


def test_a_client_certificate_from_another_ca_is_refused(mutual_tls: RedisServer,
                                                         tmp_path: Path):
    stranger = CertAuthority(tmp_path / "stranger", "stranger CA").issue(
        "client", ["stranger"], client=True)
    query = (f"ssl_ca_certs={mutual_tls.tls.server.ca}&ssl_certfile={stranger.cert}"
             f"&ssl_keyfile={stranger.key}")
    line = cannot_open(tls_url(mutual_tls, query))
    assert line.endswith(("; the server refused the client certificate in ssl_certfile",
                          "; the server may have refused the client certificate in "
                          "ssl_certfile")), line


@pytest.mark.parametrize(("text", "certfile", "said"), [
    ("[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required", False,
     "; the server requires a client certificate: add ssl_certfile= and ssl_keyfile="),
    ("EOF occurred in violation of protocol (_ssl.c:2427)", False,
     "; if the server requires a client certificate, add ssl_certfile= and ssl_keyfile="),
    ("[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca", True,
     "; the server refused the client certificate in ssl_certfile"),
    ("(104, 'Connection reset by peer')", True,
     "; the server may have refused the client certificate in ssl_certfile"),
    ("Timeout connecting to server", True, ""),
])
def test_both_ways_a_refused_client_certificate_can_surface_get_advice(
        text: str, certfile: bool, said: str):
    from imnot_proxy.store.redis import tls

    query = "ssl_certfile=/c.pem" if certfile else "ssl_ca_certs=/ca.pem"
    assert tls.advice(text, parse(f"rediss://h/0?{query}")) == said


def test_plain_redis_to_a_tls_port_says_to_use_rediss(mutual_tls: RedisServer):
    line = cannot_open(f"redis://:{PASSWORD}@127.0.0.1:{mutual_tls.port}/0")
    assert line.endswith("; if that port speaks TLS, use rediss://"), line


@pytest.fixture(scope="module")
def named_elsewhere(tmp_path_factory, ca: CertAuthority) -> Iterator[RedisServer]:
    """TLS only, with a certificate from the same CA that names another host only."""
    tls = Tls(ca.issue("elsewhere", ["redis.elsewhere.example"]))
    server = RedisServer(tmp_path_factory.mktemp("redis-elsewhere"), aof=False, tls=tls)
    yield server.start()
    server.shutdown()


def test_the_host_name_is_checked_unless_the_url_says_otherwise(named_elsewhere: RedisServer):
    url = f"{named_elsewhere.url}?ssl_ca_certs={named_elsewhere.tls.server.ca}"
    line = cannot_open(url)
    assert "certificate is not valid for '127.0.0.1'" in line
    assert line.endswith("; the server's certificate does not name the URL's host: connect by "
                         "a name it carries (or add ssl_check_hostname=false)")
    store = open_store(f"{url}&ssl_check_hostname=false&prefix=nohost")
    try:
        store.put_global("p", "d", b"[1]")
        assert store.get_global("p", "d").body == b"[1]"
    finally:
        store.close()


@pytest.mark.parametrize(("url", "error"), [
    ("redis://h/0?ssl_ca_certs=/ca.pem", "ssl_ca_certs needs rediss:// (TLS); redis:// "
     "connects in clear"),
    ("unix:///r.sock?ssl_certfile=/c.pem", "ssl_certfile needs rediss://"),
    ("rediss://h/0?ssl_ca_certs=", "ssl_ca_certs needs a file"),
    ("rediss://h/0?ssl_check_hostname=maybe", "ssl_check_hostname 'maybe' must be true or "
     "false"),
    ("rediss://h/0?ssl_keyfile=/k.pem", "ssl_keyfile needs ssl_certfile"),
    ("rediss://h/0?ssl_cert_reqs=none", "unknown parameter 'ssl_cert_reqs'"),
])
def test_tls_parameters_are_checked_with_the_url(url: str, error: str):
    with pytest.raises(ValueError, match=error.replace("(", r"\(").replace(")", r"\)")):
        parse(url)


def test_tls_parameters_become_redis_py_keyword_arguments():
    parsed = parse("rediss://:pw@h:6380/0?ssl_ca_certs=/etc/ca%20dir/ca.pem&prefix=a"
                   "&ssl_certfile=/c.pem&ssl_keyfile=/k.pem&ssl_check_hostname=no")
    assert parsed.client_url() == "rediss://:pw@h:6380/0"
    assert parsed.client_options() == {
        "ssl_ca_certs": "/etc/ca dir/ca.pem", "ssl_certfile": "/c.pem",
        "ssl_keyfile": "/k.pem", "ssl_check_hostname": False}
    assert parse("rediss://h/0").client_options() == {}
