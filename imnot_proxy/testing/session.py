"""``Imnot``: what one test holds: its own session on the run's proxy, and everything a test
does with it (payloads, faults, the requests it made, callbacks, proxy settings).

A session isolates a test from every other test on the same proxy, in this run or another
one: its payloads, faults, generated ids and journal entries belong to it alone. The code
under test joins it by using ``proxy_url`` (the session is the proxy user name), which is
what ``env()`` sets.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..client import AdminCallError, AdminClient
from .calls import NOT_KEPT, BodyMatcher, Call, body_matches, describe, format_calls, select

if TYPE_CHECKING:
    from .server import ServerInfo

ADMIN = "/imnot/admin"
PROXY_PASSWORD = "imnot"
JOURNAL_LIMIT = 1000  # the journal route's largest page
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE")


class ImnotError(RuntimeError):
    """An admin call that failed: the message names the call and the proxy's answer."""


def session_name(test_name: str) -> str:
    """A readable, unique session id for a test: its name (as a proxy user name can carry
    it) and a random suffix, so two runs of one test never share a session."""
    base = re.sub(r"[^A-Za-z0-9._~-]+", "-", test_name).strip("-.")[:48] or "test"
    return f"{base}-{uuid.uuid4().hex[:8]}"


def encode(body: Any) -> bytes:
    """Bytes as they are, text as UTF-8, anything else as JSON."""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


class Imnot:
    """One test's session on the run's proxy (the ``imnot`` fixture)."""

    def __init__(self, server: ServerInfo, client: AdminClient, session: str):
        self.server = server
        self.client = client
        self.session = session
        self._faults = False

    # --- where the code under test sends its requests ------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: the proxy without a session (and the admin API)."""
        return self.server.url

    @property
    def proxy_url(self) -> str:
        """The proxy with this test's session as the user name: use it as ``HTTPS_PROXY``.

        The password (``imnot``) is ignored by the proxy; it is there because some clients
        (Python's requests) send no credentials for a user name alone.
        """
        scheme, _, rest = self.server.url.partition("://")
        return f"{scheme}://{quote(self.session, safe='')}:{PROXY_PASSWORD}@{rest}"

    @property
    def ca_cert(self) -> Path | None:
        """The proxy's CA certificate alone (for settings that add to the trust store)."""
        return Path(self.server.ca_cert) if self.server.ca_cert else None

    @property
    def ca_bundle(self) -> Path | None:
        """The system CAs plus the proxy's (for settings that replace the trust store:
        ``REQUESTS_CA_BUNDLE``, ``SSL_CERT_FILE``, ``curl --cacert``)."""
        return Path(self.server.ca_bundle) if self.server.ca_bundle else None

    def environment(self) -> dict[str, str]:
        """The variables ``env()`` sets."""
        variables = dict.fromkeys(PROXY_VARIABLES, self.proxy_url)
        if self.ca_bundle is not None:
            variables.update(dict.fromkeys(CA_VARIABLES, str(self.ca_bundle)))
        return variables

    @contextlib.contextmanager
    def env(self) -> Iterator[Imnot]:
        """Send the code under test through this session: sets ``HTTPS_PROXY``,
        ``HTTP_PROXY`` (both cases), ``REQUESTS_CA_BUNDLE``, ``SSL_CERT_FILE`` and
        ``CURL_CA_BUNDLE``, and puts back what was there before when it ends."""
        variables = self.environment()
        saved = {name: os.environ.get(name) for name in variables}
        os.environ.update(variables)
        try:
            yield self
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    # --- state ------------------------------------------------------------------------------

    def set_payload(self, partner: str, datapoint: str, body: Any, *,
                    outcome: str | None = None, name: str = "",
                    content_type: str = "application/json") -> None:
        """Upload the payload ``partner/datapoint`` returns in this session: JSON (a dict, a
        list, or text/bytes holding JSON) unless ``content_type`` says otherwise (XML, text:
        sent as it is). ``name`` stores one of the datapoint's named payloads (those its
        ``alternatives:`` pick with ``payload:``). ``outcome="failed"`` makes ids issued from
        it fail, for polling datapoints with a failure outcome."""
        query = f"?session={quote(self.session, safe='')}"
        if outcome:
            query += f"&outcome={quote(outcome, safe='')}"
        if name:
            query += f"&name={quote(name, safe='')}"
        path = f"{ADMIN}/{quote(partner, safe='')}/{quote(datapoint, safe='')}/payload/session"
        self._call("POST", path + query, encode(body), content_type)

    def fault(self, kind: str, partner: str, datapoint: str | None = None,
              **params: Any) -> dict:
        """Inject a fault for this session only (the proxy's faults API); removed when the
        test ends. ``params`` are the kind's parameters and ``endpoint``, ``when``,
        ``expires_in``. Returns the fault as stored, with its ``id``."""
        spec: dict[str, Any] = {"kind": kind, "partner": partner, "session": self.session}
        if datapoint is not None:
            spec["datapoint"] = datapoint
        spec.update(params)
        try:
            fault = self.client.call("POST", f"{ADMIN}/faults", encode(spec))
        except AdminCallError as exc:
            if exc.status == 404 and exc.detail == "Not Found":
                raise ImnotError(f"the proxy at {self.url} has no faults API (POST "
                                 f"{ADMIN}/faults answered 404)") from None
            raise ImnotError(f"fault {kind} for {partner}: {exc}") from None
        self._faults = True
        return fault

    def clear_faults(self) -> None:
        """Remove every fault of this session."""
        if self._faults:
            self._call("DELETE", f"{ADMIN}/faults?session={quote(self.session, safe='')}")
            self._faults = False

    def callbacks(self) -> list[dict]:
        """The callbacks this session's requests asked for, oldest first, each with its
        ``url``, ``method`` and ``deliveries`` (attempt, status, error)."""
        return self._call("GET", f"{ADMIN}/callbacks?session={quote(self.session, safe='')}")

    # --- the requests this session made ----------------------------------------------------

    def requests(self, endpoint: str | None = None, *, partner: str | None = None,
                 datapoint: str | None = None, kind: str | None = None) -> list[Call]:
        """This session's partner requests, oldest first: all, or those of an ``endpoint``
        (``"POST /jobs"``, ``"GET /jobs/{id}"``, ``"GET /jobs/42"`` or ``"partner/datapoint"``),
        partner, datapoint or kind (``mock``, ``miss``, ``passthrough``)."""
        entries = self._call("GET", f"{ADMIN}/journal?limit={JOURNAL_LIMIT}"
                                    f"&session={quote(self.session, safe='')}")
        calls = [Call.of(entry) for entry in reversed(entries)]
        return select(calls, endpoint, partner=partner, datapoint=datapoint, kind=kind)

    def misses(self) -> list[Call]:
        """Partner requests that matched no route (answered 404, or passed through)."""
        return [c for c in self.requests() if c.kind in ("miss", "passthrough")]

    def assert_called(self, endpoint: str, times: int | None = None, *,
                      body: BodyMatcher | None = None) -> list[Call]:
        """Assert that ``endpoint`` was called (exactly ``times`` times when given), by calls
        whose body matches ``body`` when given: a substring, a ``re.compile(...)`` pattern,
        a dict/list that the JSON body contains, or a predicate. Returns those calls."""
        calls = self.requests()
        found = select(calls, endpoint)
        if body is not None:
            if found and not any(c.body_kept for c in found):
                raise ImnotError(NOT_KEPT)
            found = [c for c in found if body_matches(c, body)]
        if (times is None and not found) or (times is not None and len(found) != times):
            wanted = "at least once" if times is None else f"{times} time(s)"
            which = f" with a body {describe(body)}" if body is not None else ""
            raise AssertionError(f"expected {endpoint}{which} to be called {wanted}, "
                             f"it was called {len(found)} time(s)\n"
                             f"{format_calls(calls, self.session)}")
        return found

    def assert_not_called(self, endpoint: str) -> None:
        self.assert_called(endpoint, times=0)

    def log(self) -> str:
        """This session's requests as text, as the failure report shows them."""
        return format_calls(self.requests(), self.session)

    # --- plumbing ---------------------------------------------------------------------------

    def payloads(self, payloads: Mapping[Any, Any]) -> None:
        """``set_payload`` for each ``"partner/datapoint"`` (or ``(partner, datapoint)``) key."""
        for key, body in payloads.items():
            partner, datapoint = key if isinstance(key, tuple) else str(key).split("/", 1)
            self.set_payload(partner, datapoint, body)

    def close(self) -> None:
        """Remove the session's faults, then the session (the fixture does this)."""
        try:
            self.clear_faults()
        finally:
            with contextlib.suppress(AdminCallError):
                self.client.call("DELETE", f"{ADMIN}/sessions/{quote(self.session, safe='')}")

    def _call(self, method: str, path: str, body: bytes | None = None,
              content_type: str = "application/json") -> Any:
        try:
            return self.client.call(method, path, body, content_type)
        except AdminCallError as exc:
            raise ImnotError(f"{method} {path.split('?')[0]}: {exc}") from None

    def __repr__(self) -> str:
        return f"<Imnot session {self.session} at {self.url}>"
