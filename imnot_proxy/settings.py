"""The addon's mitmproxy options, declared once, and the validated settings read from them.

``OPTIONS`` is the table ``ImnotProxy.load`` registers (name, type, default, help,
choices); ``Settings.from_options`` reads and checks them in ``configure`` and returns
a frozen value, so hooks never read ``ctx.options`` per request. mitmproxy enforces
``choices`` for command-line flags only, not for ``--set`` or the ``set`` command: the
check here covers every way in.
"""

from __future__ import annotations

import base64
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Optional

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


class OptionSpec(NamedTuple):
    name: str
    type: Any
    default: Any
    help: str
    choices: tuple[str, ...] | None = None


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("imnot_partners", Sequence[str], ["partners"],
               "Partner definitions: directories (holding */partner.yaml or *.yaml) or files."),
    OptionSpec("imnot_db", str, "",
               "State store: a SQLite file path or sqlite:///path, or a shared store for "
               "replicas: redis://[:password@]host:port/db[?prefix=team-a] (also rediss://, "
               "unix://). Default: imnot.db beside the (first) partners directory."),
    OptionSpec("imnot_shared_journal", bool, False,
               "Keep the journal in the SQLite store, so that every process on the file lists "
               "every request (imnot-proxy start --workers sets it; a Redis store always "
               "shares its journal)."),
    OptionSpec("imnot_replica", str, "",
               "This proxy's name in a journal shared by replicas (Redis store). Default: "
               "the host name and process id."),
    OptionSpec("imnot_unmatched", str, "404",
               "What a request for a partner host with no matching route gets: "
               "404 (a JSON error naming the closest routes), passthrough (sent upstream), "
               "or record (spy mode: sent upstream and recorded).",
               ("404", "passthrough", "record")),
    OptionSpec("imnot_mode", str, "mock",
               "mock: answer partner hosts from the partner files; record: forward them to the "
               "real partner and record every exchange; verify: forward them to the real "
               "partner and compare each answer with the mock's (the drift report). A "
               "partner's `mode:` overrides this.",
               ("mock", "record", "verify")),
    OptionSpec("imnot_record_hosts", Sequence[str], [],
               "Hosts (or *.suffix) to forward and record even though no partner file names "
               "them."),
    OptionSpec("imnot_recordings", str, "",
               "Directory for recorded HAR files. Default: recordings/ beside the partners "
               "directory."),
    OptionSpec("imnot_redact_headers", Sequence[str], [],
               "More header names to redact in recordings (Authorization, cookies and API-key "
               "headers always are)."),
    OptionSpec("imnot_redact_fields", Sequence[str], [],
               "More JSON/form/query field names to redact in recordings (passwords, secrets "
               "and tokens always are; docs/security.md lists the rules)."),
    OptionSpec("imnot_verify_ignore", Sequence[str], [],
               "verify mode: more body fields left out of the comparison, by name or dotted "
               "path (timestamps, tokens and trace ids always are)."),
    OptionSpec("imnot_admin_host", str, "imnot.proxy",
               "Virtual host that serves the admin API through the proxy."),
    OptionSpec("imnot_admin_key", Optional[str], None,  # noqa: UP045 - mitmproxy option type
               "Bearer key for the admin API (default: the IMNOT_ADMIN_KEY environment "
               "variable). Without a key the admin API is open (see docs/security.md)."),
    OptionSpec("imnot_intercept", str, "partners",
               "Which HTTPS connections to decrypt: partners (partner, admin and recorded "
               "hosts; every other CONNECT passes through as opaque TLS) or all (mitmproxy's "
               "default).",
               ("partners", "all")),
    OptionSpec("imnot_upstream_auth", Optional[str], None,  # noqa: UP045 - mitmproxy option type
               "user:password for the upstream proxy of --mode upstream: (imnot-proxy start "
               "--upstream http://user:pass@host:port). Unlike upstream_auth, it leaves the "
               "client's own proxy credentials free to name the session."),
    OptionSpec("imnot_json_logs", bool, False,
               "Write imnot_proxy's log lines to stderr as JSON objects, for log shippers."),
    OptionSpec("imnot_log_passthrough", bool, False,
               "Also log one line per request that passes through untouched."),
    OptionSpec("imnot_watch", bool, False,
               "Reload the partner files when they change on disk."),
    # mitmproxy options have no float type: seconds are given as text ("0.5")
    OptionSpec("imnot_watch_interval", str, "1.0",
               "Seconds between two looks at the partner files when imnot_watch is on."),
    OptionSpec("imnot_watch_settle", str, "1.0",
               "Seconds a changed partner file must stay unchanged before it is loaded (a file "
               "still being written is not loaded half-way; renaming a finished file into "
               "place is the safe way to deploy)."),
    OptionSpec("imnot_max_partner_bytes", int, 5 * 1024 * 1024,
               "Largest partner file loaded or registered, in bytes."),
    OptionSpec("imnot_max_payload_bytes", int, 32 * 1024 * 1024,
               "Largest payload uploaded through the admin API, in bytes."),
    OptionSpec("imnot_journal_size", int, 500,
               "How many partner requests the journal keeps."),
    OptionSpec("imnot_journal_bodies", int, 0,
               "Keep the first N bytes of each mocked or unmatched request's body in the "
               "journal, redacted as recordings are (0: bodies are not kept). For tests that "
               "check what was sent."),
    OptionSpec("imnot_idle_timeout", int, 120,
               "Seconds after which an idle client connection is closed."),
    OptionSpec("imnot_callback_allow", Sequence[str], [],
               "Hosts (or *.suffix) that callbacks may be sent to, besides loopback addresses."),
    OptionSpec("imnot_default_limit", int, 50,
               "Page size of paginated datapoints when the request gives none."),
    OptionSpec("imnot_ui", bool, True,
               "Serve the admin web page at /imnot/admin/ui (and at http://<imnot_admin_host>/). "
               "The page opens without the admin key; every call it makes needs it."),
    OptionSpec("imnot_ui_theme", str, "dark",
               "Colour theme the admin web page opens with: dark, light, or system (the "
               "browser's preference).",
               ("dark", "light", "system")),
)

# Numeric options and the values they may take.
BOUNDS: tuple[tuple[str, float, float], ...] = (
    ("imnot_watch_interval", 0.05, 3600),
    ("imnot_watch_settle", 0, 3600),
    ("imnot_default_limit", 1, 1_000_000),
    ("imnot_max_partner_bytes", 1024, 1024 ** 3),
    ("imnot_max_payload_bytes", 1024, 4 * 1024 ** 3),
    ("imnot_journal_size", 1, 1_000_000),
    ("imnot_journal_bodies", 0, 1024 * 1024),
    ("imnot_idle_timeout", 1, 86_400),
)

# Options whose change means the partner files are loaded and the engine built again.
ENGINE_OPTIONS = frozenset({"imnot_partners", "imnot_db", "imnot_default_limit",
                            "imnot_callback_allow", "imnot_max_partner_bytes"})
RECORDING_OPTIONS = frozenset({"imnot_recordings", "imnot_redact_headers",
                               "imnot_redact_fields", "imnot_partners"})
POLICY_OPTIONS = frozenset({"imnot_admin_host", "imnot_unmatched", "imnot_mode",
                            "imnot_record_hosts"})


@dataclass(frozen=True)
class Settings:
    """Everything the addon reads from its options, checked once per ``configure``."""

    partners: tuple[str, ...]
    db: str
    unmatched: str
    mode: str
    record_hosts: tuple[str, ...]
    recordings: Path
    redact_headers: tuple[str, ...]
    redact_fields: tuple[str, ...]
    admin_host: str
    admin_key: str | None
    intercept: str
    upstream_login: str | None  # a ready "Basic ..." header value
    json_logs: bool
    log_passthrough: bool
    watch: bool
    watch_interval: float
    callback_allow: tuple[str, ...]
    default_limit: int
    watch_settle: float = 1.0
    max_partner_bytes: int = 5 * 1024 * 1024
    max_payload_bytes: int = 32 * 1024 * 1024
    journal_size: int = 500
    idle_timeout: int = 120
    verify_ignore: tuple[str, ...] = ()
    journal_bodies: int = 0
    replica: str = ""
    shared_journal: bool = False
    ui: bool = True
    ui_theme: str = "dark"

    @classmethod
    def from_options(cls, options: Any, environ: dict[str, str] | None = None) -> Settings:
        """Read and check the ``imnot_*`` options; raises ValueError naming the bad one."""
        env = os.environ if environ is None else environ
        for spec in OPTIONS:
            value = getattr(options, spec.name)
            if spec.choices and value not in spec.choices:
                raise ValueError(f"Cannot parse {spec.name} option {value}: must be one of "
                                 f"{', '.join(spec.choices)}")
        for name, low, high in BOUNDS:
            value = _number(name, getattr(options, name))
            if not low <= value <= high:
                raise ValueError(f"Cannot parse {name} option {value}: must be between "
                                 f"{low:g} and {high:g}")
        partners = tuple(options.imnot_partners)
        return cls(
            partners=partners,
            db=options.imnot_db or str(default_db(partners)),
            unmatched=options.imnot_unmatched,
            mode=options.imnot_mode,
            record_hosts=tuple(h.strip().lower() for h in options.imnot_record_hosts
                               if h.strip()),
            recordings=Path(options.imnot_recordings or default_recordings(partners)),
            redact_headers=tuple(options.imnot_redact_headers),
            redact_fields=tuple(options.imnot_redact_fields),
            admin_host=options.imnot_admin_host.lower(),
            admin_key=options.imnot_admin_key or env.get("IMNOT_ADMIN_KEY") or None,
            intercept=options.imnot_intercept,
            upstream_login=basic_login(options.imnot_upstream_auth),
            json_logs=options.imnot_json_logs,
            log_passthrough=options.imnot_log_passthrough,
            watch=options.imnot_watch,
            watch_interval=float(options.imnot_watch_interval),
            callback_allow=tuple(options.imnot_callback_allow),
            default_limit=options.imnot_default_limit,
            watch_settle=float(options.imnot_watch_settle),
            max_partner_bytes=options.imnot_max_partner_bytes,
            max_payload_bytes=options.imnot_max_payload_bytes,
            journal_size=options.imnot_journal_size,
            idle_timeout=options.imnot_idle_timeout,
            verify_ignore=tuple(options.imnot_verify_ignore),
            journal_bodies=options.imnot_journal_bodies,
            replica=options.imnot_replica or f"{socket.gethostname()}-{os.getpid()}",
            shared_journal=options.imnot_shared_journal,
            ui=options.imnot_ui,
            ui_theme=options.imnot_ui_theme,
        )

    @property
    def partner_dirs(self) -> list[Path]:
        return [Path(p) for p in self.partners if Path(p).is_dir()]


def _number(name: str, value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"Cannot parse {name} option {value}: not a number") from None


def default_db(partners: Sequence[str]) -> Path:
    """``imnot.db`` beside the (first) partners directory."""
    first = Path(partners[0]) if partners else Path("partners")
    base = first.parent if first.is_file() or first.suffix in (".yaml", ".yml") else first
    return base.absolute().parent / "imnot.db"


def default_recordings(partners: Sequence[str]) -> Path:
    return default_db(partners).parent / "recordings"


def basic_login(user_password: str | None) -> str | None:
    """``user:password`` as a ``Basic`` credentials header value."""
    if not user_password:
        return None
    return "Basic " + base64.b64encode(user_password.encode("utf-8")).decode("ascii")


def is_loopback(host: str | None) -> bool:
    return host in LOOPBACK_NAMES
