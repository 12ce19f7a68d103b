"""The replica deployment files, checked without Docker or a cluster: the compose file's
shape, its HAProxy configuration, the proxy command lines (parsed by our own CLI), and
the Kubernetes example's YAML."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from imnot_proxy.cli import build_parser
from imnot_proxy.store.redis import parse

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.replicas.yml"
HAPROXY = REPO / "deploy" / "haproxy.cfg"
KUBERNETES = REPO / "docs" / "kubernetes.yaml"


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def test_two_replicas_one_redis_one_load_balancer_from_official_images():
    services = compose()["services"]
    assert sorted(services) == ["imnot-a", "imnot-b", "lb", "redis"]
    assert services["redis"]["image"].startswith("redis:")
    assert services["lb"]["image"].startswith("haproxy:")
    assert services["lb"]["ports"] == ["127.0.0.1:8080:8080"]  # loopback only, like the other
    assert "./deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in \
        services["lb"]["volumes"]


def test_redis_keeps_an_append_only_file_on_a_named_volume_behind_a_password():
    document = compose()
    redis = document["services"]["redis"]
    assert "redis-data:/data" in redis["volumes"] and "redis-data" in document["volumes"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--requirepass") + 1].startswith("${REDIS_PASSWORD:?")


def test_replicas_run_our_start_command_on_the_shared_store_with_the_admin_key():
    services = compose()["services"]
    urls, names = set(), set()
    for name in ("imnot-a", "imnot-b"):
        service = services[name]
        assert service["image"] == "imnot-proxy" and service["read_only"] is True
        assert service["environment"]["IMNOT_ADMIN_KEY"].startswith("${IMNOT_ADMIN_KEY:?")
        assert "ca:/app/data/mitmproxy" in service["volumes"]
        argv = service["command"]
        cut = argv.index("--")
        args = build_parser().parse_args(argv[:cut])  # our CLI accepts the flags as written
        assert (args.command, args.host, args.port) == ("start", "0.0.0.0", 8080)
        db = args.db.replace("${REDIS_PASSWORD}", "secret")
        assert parse(db).prefix == "imnot" and "@redis:6379/" in db
        urls.add(args.db)
        names |= {a for a in argv[cut:] if a.startswith("imnot_replica=")}
    assert len(urls) == 1 and names == {"imnot_replica=a", "imnot_replica=b"}
    assert services["imnot-b"]["depends_on"]["imnot-a"]["condition"] == "service_healthy"


def test_haproxy_balances_tcp_over_both_replicas_with_health_checks():
    text = HAPROXY.read_text(encoding="utf-8")
    assert re.search(r"^\s*mode tcp$", text, re.M)
    assert re.search(r"^\s*bind :8080$", text, re.M)
    servers = [shlex.split(line) for line in text.splitlines()
               if line.strip().startswith("server ")]
    assert [s[2] for s in servers] == ["imnot-a:8080", "imnot-b:8080"]
    assert all("check" in s for s in servers)
    assert "option httpchk GET /healthz" in text


def test_the_kubernetes_example_is_valid_yaml_with_a_deployment_services_and_redis():
    documents = list(yaml.safe_load_all(KUBERNETES.read_text(encoding="utf-8")))
    kinds = sorted(d["kind"] for d in documents)
    assert kinds == ["Deployment", "Service", "Service", "StatefulSet"]
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 2
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    parsed = build_parser().parse_args(args[:args.index("--")])
    assert parsed.db.startswith("redis://:$(REDIS_PASSWORD)@imnot-redis:6379/0")
