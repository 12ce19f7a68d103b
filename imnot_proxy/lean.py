"""The lean engine behind ``imnot-proxy start``: mitmproxy's core with only the addons we need.

mitmdump loads about 35 addons and asks every one of them for every hook of
every flow. The lean master loads the handful below and calls, per hook, only
the addons that implement it; together that more than doubles the requests per
second one core serves (see docs/performance.md). Options are mitmproxy options
and are parsed with mitmproxy's own machinery, so ``--set k=v``, ``--mode``,
``--listen-host``/``--listen-port`` and ``confdir/config.yaml`` work as in
mitmdump; an option that belongs to an addon left out here is refused with a
pointer to ``imnot-proxy start --full``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from mitmproxy import addonmanager, exceptions, hooks, master, optmanager
from mitmproxy.addonmanager import safecall, traverse
from mitmproxy.addons import (
    block,
    core,
    disable_h2c,
    dumper,
    errorcheck,
    next_layer,
    proxyserver,
    termlog,
    tlsconfig,
    upstream_auth,
)
from mitmproxy.options import Options

from .addon import ImnotProxy, StoreOptionsError
from .listening import Listening, quiet_connections

logger = logging.getLogger("imnot_proxy")

# Options that get a command-line flag of their own (name, short flag); everything
# else goes through --set. Missing options (flow_detail without -v) get no flag.
FLAGS: tuple[tuple[str, str | None], ...] = (
    ("mode", "m"),
    ("listen_host", None),
    ("listen_port", "p"),
    ("upstream_auth", None),
    ("certs", None),
    ("ssl_insecure", "k"),
    ("ignore_hosts", None),
    ("allow_hosts", None),
    ("flow_detail", None),
)
QUIET_LEVEL = "error"
FULL_HINT = ("the lean engine loads only what imnot_proxy needs; run `imnot-proxy start --full` "
             "for every mitmdump option")
# Third-party loggers that mitmproxy's own launcher keeps at WARNING.
CHATTY_LOGGERS = ("tornado", "asyncio", "hpack", "quic")


def lean_addons(*, print_flows: bool = False) -> list[Any]:
    """The mitmproxy addons of the lean engine, in mitmdump's order.

    ``Block`` (refuse clients from public addresses) and ``DisableH2C`` (strip
    ``Upgrade: h2c``, which JVM clients send) keep mitmdump's safety for the
    cost of a hook per connection/request; ``UpstreamAuth`` provides the
    ``upstream_auth`` option for ``--mode upstream:``. ``ErrorCheck`` makes a
    failed start-up (port in use, bad certs) exit 1 instead of idling.
    """
    addons: list[Any] = [
        core.Core(),
        block.Block(),
        disable_h2c.DisableH2C(),
        proxyserver.Proxyserver(),
        next_layer.NextLayer(),
        tlsconfig.TlsConfig(),
        upstream_auth.UpstreamAuth(),
    ]
    if print_flows:
        addons.append(dumper.Dumper())
    addons.append(errorcheck.ErrorCheck())
    return addons


HookFuncs = list[tuple[Any, Any]]


class HookIndex(addonmanager.AddonManager):
    """An addon manager that calls, per hook, only the addons implementing it.

    mitmproxy's manager walks every addon for every event (a generator, a
    ``getattr`` and a context manager each, also for the ``update`` event that
    follows every flow hook); with ten addons that was a third of the CPU per
    request. Order, error logging and ``AddonHalt`` behave as before. The index
    is dropped whenever the chain changes; an addon with sub-addons (an
    ``addons`` attribute, which may change behind our back) turns it off.
    """

    def __init__(self, master_: Any) -> None:
        super().__init__(master_)
        self._index: dict[str, list[HookFuncs]] = {}
        self._dynamic = False
        self._held: Any = None

    @contextlib.contextmanager
    def holding(self, addon: Any) -> Iterator[None]:
        """Events skip ``addon`` inside the block."""
        self._held = addon
        self._index.clear()
        try:
            yield
        finally:
            self._held = None
            self._index.clear()

    def _changed(self) -> None:
        self._index.clear()
        self._dynamic = any(hasattr(a, "addons") for a in traverse(self.chain))

    def register(self, addon: Any) -> Any:
        self._index.clear()  # load() may fire events before add() appends the addon
        return super().register(addon)

    def add(self, *addons: Any) -> None:
        super().add(*addons)
        self._changed()

    def remove(self, addon: Any) -> None:
        super().remove(addon)
        self._changed()

    def clear(self) -> None:
        super().clear()
        self._changed()

    def _implementers(self, event: hooks.Hook) -> list[HookFuncs]:
        found = self._index.get(event.name)
        if found is None:
            found = []
            for top in self.chain:
                if top is self._held:
                    continue
                with safecall():
                    funcs = list(self._iter_hooks(top, event))
                    if funcs:
                        found.append(funcs)
            self._index[event.name] = found
        return found

    async def trigger_event(self, event: hooks.Hook) -> None:
        if self._dynamic and self._held is None:
            return await super().trigger_event(event)
        found = self._implementers(event)
        if not found:
            return
        args = event.args()
        for funcs in found:
            try:
                for _, func in funcs:
                    result = func(*args)
                    if result is not None and inspect.isawaitable(result):
                        await result
            except exceptions.AddonHalt:
                return
            except exceptions.OptionsError:
                raise
            except Exception as exc:  # noqa: BLE001 - logged like mitmproxy's safecall
                _log_addon_error(exc)

    def trigger(self, event: hooks.Hook) -> None:
        if self._dynamic and self._held is None:
            return super().trigger(event)
        found = self._implementers(event)
        if not found:
            return
        args = event.args()
        for funcs in found:
            try:
                for addon, func in funcs:
                    if inspect.iscoroutinefunction(func):
                        raise exceptions.AddonManagerError(
                            f"Async handler {event.name} ({addon}) cannot be called from "
                            "sync context")
                    func(*args)
            except exceptions.AddonHalt:
                return
            except exceptions.OptionsError:
                raise
            except Exception as exc:  # noqa: BLE001 - logged like mitmproxy's safecall
                _log_addon_error(exc)

    async def handle_lifecycle(self, event: hooks.Hook) -> None:
        """As mitmproxy's, without the ``update`` event when no addon takes it."""
        if self._dynamic or self._implementers(_UPDATE_PROBE):
            return await super().handle_lifecycle(event)
        await self.trigger_event(event)


def _log_addon_error(exc: Exception) -> None:
    """mitmproxy's own "Addon error" record, traceback included."""
    with safecall():
        raise exc


_UPDATE_PROBE = hooks.UpdateHook([])


class LeanMaster(master.Master):
    """A ``Master`` with a ``HookIndex``, ``lean_addons()``, a terminal log and ImnotProxy
    (then ``Listening``, which calls ``on_listening`` once every listener is up)."""

    def __init__(self, opts: Options, *, print_flows: bool = False,
                 on_listening: Callable[[], None] | None = None) -> None:
        super().__init__(opts)
        opts.changed.disconnect(self.addons._configure_all)
        self.addons = HookIndex(self)
        # Master turns every log record into an ``add_log`` event for all addons;
        # none of ours listens, so it would only cost a formatted record per line.
        legacy = getattr(self, "_legacy_log_events", None)
        if legacy is not None:
            legacy.uninstall()
        self._termlog_addon = termlog.TermLog()
        self.addons.add(self._termlog_addon)
        self.addons.add(*lean_addons(print_flows=print_flows))
        self.imnot = ImnotProxy()
        self.addons.add(self.imnot)
        if on_listening is not None:
            self.addons.add(Listening(on_listening))
        self.finished = False

    async def done(self) -> None:
        await super().done()
        self.finished = True

    def addon_names(self) -> list[str]:
        """Class names of the loaded addons, in chain order."""
        return [type(addon).__name__ for addon in self.addons.chain]

    def release_logging(self) -> None:
        """Remove the log handlers this master installed (start-up check and terminal)."""
        check = self.addons.get("errorcheck")
        if check is not None:
            check.finish()
        if self._termlog_addon is not None:
            self._termlog_addon.uninstall()


def make_parser(opts: Options) -> argparse.ArgumentParser:
    """mitmdump's flags for the options the lean engine has, plus ``--set`` and ``-q``."""
    parser = argparse.ArgumentParser(
        prog="imnot-proxy start", usage="%(prog)s [start options] -- [proxy options]",
        description=f"Proxy options of the lean engine ({FULL_HINT}).",
    )
    parser.add_argument(
        "--set", type=str, dest="setoptions", default=[], action="append",
        metavar="option[=value]", help="Set an option (mitmproxy syntax); may repeat.",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="Log errors only.")
    for name, short in FLAGS:
        opts.make_parser(parser, name, short=short)
    return parser


def apply_args(opts: Options, args: argparse.Namespace) -> None:
    """Set options the way mitmdump does: ``--set``, then ``config.yaml``, then flags.

    Raises ``OptionsError`` for unknown or malformed options.
    """
    try:
        opts.set(*args.setoptions)
    except exceptions.OptionsError as exc:
        if "Unknown option" in str(exc):
            raise exceptions.OptionsError(f"{exc} ({FULL_HINT})") from exc
        raise
    before = set(opts.deferred)
    optmanager.load_paths(
        opts,
        os.path.join(opts.confdir, "config.yaml"),
        os.path.join(opts.confdir, "config.yml"),
    )
    ignored = sorted(set(opts.deferred) - before)
    if ignored:
        logger.warning("imnot_proxy: config.yaml options not in the lean engine, ignored: %s",
                       ", ".join(ignored))
    flags = {k: v for k, v in vars(args).items() if k in opts and v is not None}
    if args.quiet:
        flags["termlog_verbosity"] = QUIET_LEVEL
    opts.update(**flags)


def set_log_levels(verbosity: str) -> None:
    """Create log records only at the level that is printed.

    mitmdump keeps the root logger at DEBUG and filters in the handlers, so a
    per-request ``logger.info`` costs a record even under ``-q``; here a
    suppressed line costs one level check.
    """
    level = min(logging.getLevelName(verbosity.upper()), logging.ERROR)
    logging.getLogger().setLevel(level)
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


async def serve(argv: Sequence[str], *, print_flows: bool = False,
                on_listening: Callable[[], None] | None = None) -> int:
    """Parse ``argv``, start the lean master and serve until SIGINT/SIGTERM; the exit code.

    ``print_flows`` also brings mitmproxy's connection lines; ``on_listening`` is called once
    the proxy listens (never when it fails to start).
    """
    quiet_connections(print_flows)
    opts = Options()
    lean = LeanMaster(opts, print_flows=print_flows, on_listening=on_listening)
    try:
        args = make_parser(opts).parse_args(list(argv))
    except SystemExit as exc:
        lean.release_logging()
        return int(exc.code or 0)
    set_log_levels(QUIET_LEVEL if args.quiet else opts.termlog_verbosity)  # start-up lines
    try:
        # The addon is configured once, with every option: configured per step, a refused
        # step (a store that cannot be opened) would be rolled back to the defaults, and
        # those open the default store and load the partners before the error is shown.
        with lean.addons.holding(lean.imnot):
            apply_args(opts, args)
        lean.addons.invoke_addon_sync(lean.imnot, hooks.ConfigureHook(set(opts.keys())))
    except exceptions.OptionsError as exc:
        print(f"imnot-proxy: {exc}", file=sys.stderr)
        lean.imnot.done()
        lean.release_logging()
        return 2 if isinstance(exc, StoreOptionsError) else 1
    set_log_levels(opts.termlog_verbosity)

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, lean.shutdown)
        except NotImplementedError:  # Windows' proactor loop
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(lean.shutdown))
    if hasattr(signal, "SIGPIPE"):  # a client gone mid-write must not end the process
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    code = 0
    try:
        await lean.run()
    except SystemExit as exc:  # ErrorCheck: an error was logged during start-up
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        if not lean.finished:  # start-up failed before Master.done(): still close the store
            lean.imnot.done()
        lean.release_logging()
    return code


class ReusePortLoop(asyncio.SelectorEventLoop):
    """An event loop whose servers listen with ``SO_REUSEPORT``: the workers of
    ``imnot-proxy start --workers N`` each open the same port and the kernel spreads
    new connections over them. mitmproxy opens its listeners with
    ``asyncio.start_server(handler, host, port)`` and has no option for it."""

    async def create_server(self, *args: Any, **kwargs: Any) -> asyncio.Server:  # type: ignore[override]
        kwargs["reuse_port"] = True
        return await super().create_server(*args, **kwargs)


def run(argv: Sequence[str], *, print_flows: bool = False, reuse_port: bool = False,
        on_listening: Callable[[], None] | None = None) -> int:
    """Run the lean engine in a new event loop (the ``imnot-proxy start`` entry)."""
    try:
        with asyncio.Runner(loop_factory=ReusePortLoop if reuse_port else None) as runner:
            return runner.run(serve(argv, print_flows=print_flows, on_listening=on_listening))
    except KeyboardInterrupt:  # Ctrl-C while loading, before the signal handlers exist
        return 130
