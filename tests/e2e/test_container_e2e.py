"""The container image without a Docker engine: the Dockerfile's own ENTRYPOINT + CMD,
ENV and HEALTHCHECK, run as an unprivileged user with a read-only working directory and
partners folder, and only a "data" folder writable.

Paths of the image (``/app``, ``/app/partners``, ``/app/data``) are mapped onto a
temporary tree and the port onto a free one; everything else is taken from the
Dockerfile as written, so the test and the image cannot drift apart.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from .harness import Launcher, UpstreamServer, free_port, proxied_request, run, tls_get

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
COMPOSE = REPO / "docker-compose.yml"
NOBODY = 65534
ADMIN_KEY = "container-secret"


@dataclass
class Image:
    """What the Dockerfile says the container runs."""

    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    user: str = "root"
    volumes: list[str] = field(default_factory=list)
    expose: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)


def instructions(text: str) -> Iterator[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    logical = ""
    for line in text.splitlines():
        if not logical and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            logical += line.rstrip()[:-1] + " "
            continue
        logical += line
        keyword, _, rest = logical.strip().partition(" ")
        yield keyword.upper(), rest.strip()
        logical = ""


def parse_dockerfile(path: Path) -> Image:
    image = Image()
    for keyword, rest in instructions(path.read_text(encoding="utf-8")):
        if keyword == "ENTRYPOINT":
            image.entrypoint = json.loads(rest)
        elif keyword == "CMD":
            image.cmd = json.loads(rest)
        elif keyword == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                image.env[key] = value
        elif keyword == "WORKDIR":
            image.workdir = rest
        elif keyword == "USER":
            image.user = rest
        elif keyword == "VOLUME":
            image.volumes = json.loads(rest)
        elif keyword == "EXPOSE":
            image.expose = rest.split()
        elif keyword == "HEALTHCHECK":
            image.healthcheck = json.loads(rest[rest.index("CMD") + 3:].strip())
    return image


IMAGE = parse_dockerfile(DOCKERFILE)
PORT = IMAGE.expose[0]


def test_dockerfile_runs_the_proxy_as_a_non_root_user_with_everything_in_volumes() -> None:
    assert IMAGE.user not in ("", "root", "0")
    assert IMAGE.entrypoint == ["imnot-proxy"]
    args = IMAGE.cmd
    assert args[0] == "start"
    assert args[args.index("--host") + 1] == "0.0.0.0"
    assert args[args.index("--port") + 1] == PORT
    assert args[args.index("--partners") + 1] == "/app/partners"
    data_paths = [args[args.index("--db") + 1], args[args.index("--confdir") + 1],
                  *(a.split("=", 1)[1] for a in args if a.startswith("imnot_recordings="))]
    assert len(data_paths) == 3 and all(p.startswith("/app/data/") for p in data_paths)
    assert sorted(IMAGE.volumes) == ["/app/data", "/app/partners"]
    assert IMAGE.env["HOME"] == "/app/data"
    assert f"127.0.0.1:{PORT}/healthz" in " ".join(IMAGE.healthcheck)


def test_compose_publishes_loopback_only_and_mounts_partners_and_data() -> None:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    (service,) = compose["services"].values()
    assert service["ports"] == [f"127.0.0.1:{PORT}:{PORT}"]
    assert sorted(service["volumes"]) == ["./data:/app/data", "./partners:/app/partners"]
    assert "IMNOT_ADMIN_KEY" in service["environment"]
    assert service["read_only"] is True


def _as_image_path(value: str, root: Path) -> str:
    return re.sub(r"(?<![\w/])/app(?=/|$|\b)", str(root / "app"), value)


def _can_run_as_nobody() -> bool:
    done = run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                sys.executable, "-c", "import imnot_proxy"], cwd="/")
    return done.returncode == 0


Container = tuple[Launcher, Path, list[str], str]


@pytest.fixture
def container(write_hello_partner: Callable[..., Path]) -> Iterator[Container]:
    """The image's command as ``nobody``: ``/app`` and ``/app/partners`` read-only,
    ``/app/data`` owned by that user, the environment exactly the image's plus the key.
    Yields the proxy, the data folder, the ``setpriv`` prefix and the entrypoint.

    The tree is made outside pytest's private (0700) temporary folder so that the
    unprivileged user can reach it.
    """
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run the entrypoint as an unprivileged user")
    tmp_path = Path(tempfile.mkdtemp(prefix="imnot-container-"))
    tmp_path.chmod(0o755)
    root = tmp_path / "root"
    app = root / "app"
    partners, data = app / "partners", app / "data"
    write_hello_partner(partners).chmod(0o444)
    data.mkdir()
    os.chown(data, NOBODY, NOBODY)
    data.chmod(0o700)
    for folder in (partners, app, root):
        folder.chmod(0o555)

    user = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    if not _can_run_as_nobody():  # the interpreter lives under a private home directory
        user += ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
    bindir = Path(sys.executable).parent
    entry = shutil.which(IMAGE.entrypoint[0], path=str(bindir))
    assert entry, f"{IMAGE.entrypoint[0]} is not installed in {bindir}"
    port = free_port()
    cmd = [_as_image_path(a.replace(PORT, str(port)), root) for a in IMAGE.cmd]
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "IMNOT_ADMIN_KEY": ADMIN_KEY,
           **{k: _as_image_path(v, root) for k, v in IMAGE.env.items()}}
    proxy = Launcher([*user, entry, *cmd, "--set", "imnot_record_hosts=localhost"], port=port,
                     workdir=tmp_path, env=env, inherit_env=False, name="imnot",
                     cwd=Path(_as_image_path(IMAGE.workdir, root)))
    try:
        yield proxy.start(), data, user, entry
    finally:
        proxy.stop()
        for folder in (root, app, partners):
            folder.chmod(0o755)
        shutil.rmtree(tmp_path)


def test_entrypoint_serves_as_nobody_with_only_data_writable(container: Container) -> None:
    proxy, data, user, entry = container
    port = str(proxy.port)
    check = [a.replace(PORT, port) for a in IMAGE.healthcheck]
    health = run([*user, *check], env={"PATH": f"{Path(sys.executable).parent}:/usr/bin"},
                 inherit_env=False, cwd="/", timeout=30)
    assert health.returncode == 0, health.stderr

    reply = proxied_request(proxy.url, "GET", "http://api.acme.test/hello")
    assert (reply.status, reply.json()) == (200, {"hello": "acme"})
    ca = data / "mitmproxy" / "mitmproxy-ca-cert.pem"
    answer = tls_get(proxy.port, "api.acme.test", 443, "/hello", ca)
    assert answer.reply.json() == {"hello": "acme"}

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(f"{proxy.url}/imnot/admin/partners", timeout=10)
    assert refused.value.code == 401
    request = urllib.request.Request(f"{proxy.url}/imnot/admin/partners",
                                     headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert opener.open(request, timeout=10).status == 200

    with UpstreamServer() as upstream:
        recorded = proxied_request(proxy.url, "GET", f"http://localhost:{upstream.port}/rec")
        assert recorded.status == 200

    assert "Traceback" not in proxy.log_text(), proxy.log_text()
    assert proxy.stop() == 0
    assert "ermission denied" not in proxy.log_text(), proxy.log_text()
    written = sorted(str(p.relative_to(data)) for p in data.rglob("*"))
    assert "imnot.db" in written
    assert "mitmproxy/mitmproxy-ca-cert.pem" in written
    assert any(p.startswith("recordings/") and p.endswith(".har") for p in written), written
    assert all(p.stat().st_uid == NOBODY for p in data.rglob("*"))

    confdir = next(a for a in proxy.argv if a.endswith("/app/data/mitmproxy"))
    recipes = run([*user, entry, "ca", "--confdir", confdir], cwd=proxy.cwd, inherit_env=False,
                  env={"PATH": f"{Path(sys.executable).parent}:/usr/bin", "HOME": str(data)})
    assert recipes.returncode == 0, recipes.stderr
    assert f"CA certificate: {ca}" in recipes.stdout and "keytool -importcert" in recipes.stdout
    assert "created" not in recipes.stderr  # the proxy's CA, not a new one
