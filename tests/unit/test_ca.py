"""``imnot-proxy ca``: the CA is created once with mitmproxy's code, exported, bundled, and
explained per client."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import pkcs12

from imnot_proxy import ca, cli


def test_ensure_ca_creates_mitmproxys_files_once(tmp_path: Path) -> None:
    files, created = ca.ensure_ca(tmp_path / "conf")
    assert created
    for path in (files.cert, files.p12, files.key):
        assert path.is_file()
    first = files.cert.read_bytes()
    again, created = ca.ensure_ca(tmp_path / "conf")
    assert not created and again.cert.read_bytes() == first
    cert = x509.load_pem_x509_certificate(first)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    expected = cert.fingerprint(hashes.SHA256()).hex().upper()
    assert ca.fingerprint(files.cert).replace(":", "") == expected


def test_cli_path_prints_only_the_certificate(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                              ) -> None:
    assert cli.main(["ca", "--confdir", str(tmp_path), "--path"]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == str(tmp_path / "mitmproxy-ca-cert.pem")
    assert "created a new CA" in out.err


def test_cli_exports_pem_p12_and_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = tmp_path / "base.pem"
    base.write_text("-----BEGIN CERTIFICATE-----\nBASE\n-----END CERTIFICATE-----", "ascii")
    code = cli.main(["ca", "--confdir", str(tmp_path / "conf"), "--out", str(tmp_path / "o/ca.pem"),
                     "--p12", str(tmp_path / "ca.p12"), "--bundle", str(tmp_path / "b.pem"),
                     "--base", str(base)])
    assert code == 0
    out = capsys.readouterr().out
    pem = (tmp_path / "conf" / "mitmproxy-ca-cert.pem").read_bytes()
    assert (tmp_path / "o" / "ca.pem").read_bytes() == pem
    key, cert, extra = pkcs12.load_key_and_certificates((tmp_path / "ca.p12").read_bytes(), None)
    assert key is None  # the certificate only, never the CA's private key
    assert [c for c in (cert, *extra) if c is not None] == [x509.load_pem_x509_certificate(pem)]
    assert (tmp_path / "b.pem").read_bytes() == base.read_bytes() + b"\n" + pem
    assert "SHA-256 fingerprint:" in out and "wrote" in out
    assert "curl" not in out  # exporting alone prints no recipes


def test_bundle_defaults_to_the_system_store(tmp_path: Path) -> None:
    files, _ = ca.ensure_ca(tmp_path / "conf")
    system = ca.system_bundle()
    assert system is not None
    bundle = ca.write_bundle(files.cert, tmp_path / "bundle.pem")
    text = bundle.read_bytes()
    assert text.startswith(system.read_bytes().rstrip(b"\n")) and text.endswith(
        files.cert.read_bytes())


def test_recipes_name_every_client_with_the_real_paths(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    proxy = "http://imnot-host:9090"
    assert cli.main(["ca", "--confdir", str(tmp_path), "--proxy", proxy]) == 0
    out = capsys.readouterr().out
    cert = str(tmp_path / "mitmproxy-ca-cert.pem")
    for needle in (
        f"curl -x {proxy} --cacert {cert}", f"HTTPS_PROXY={proxy}", "https_proxy=", "NO_PROXY=",
        "REQUESTS_CA_BUNDLE=", "SSL_CERT_FILE=", f"NODE_EXTRA_CA_CERTS={cert}",
        "NODE_USE_ENV_PROXY=1", "EnvHttpProxyAgent", "global-agent",
        f"keytool -importcert -noprompt -alias imnot-proxy -file {cert}",
        "-Dhttps.proxyHost=imnot-host -Dhttps.proxyPort=9090", "-Dhttp.nonProxyHosts=",
        "-Djavax.net.ssl.trustStore=", ".NET", "certutil -addstore",
        "update-ca-certificates", "update-ca-trust", "http://SESSION:x@imnot-host:9090",
    ):
        assert needle in out, needle
