"""A local HTTP server that answers badly on purpose, for faults that need a response stream.

mitmproxy sends an answer that an addon sets all at once; a truncated body, a malformed
chunk or a slow body must reach the client as a stream, and mitmproxy streams only what a
server sends. So a request to be answered that way is sent here instead (``faultglue.py``
points it at ``address`` with a one-time ticket in its path), and this server plays the
``Script`` registered under the ticket, then closes the connection. It listens on
127.0.0.1 only, on a port the system picks, and starts on first use.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

import h11

from .faultwire import Script

logger = logging.getLogger(__name__)

PATH_PREFIX = "/imnot-fault/"
MAX_HEAD = 64 * 1024
READ_TIMEOUT = 30.0


class FaultServer:
    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._starting: asyncio.Lock | None = None
        self._scripts: dict[str, Script] = {}
        self.address: tuple[str, int] | None = None

    async def ensure(self) -> tuple[str, int]:
        """Start listening (once) and return the address."""
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._server is None:
                self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
                self.address = self._server.sockets[0].getsockname()[:2]
        assert self.address is not None
        return self.address

    def register(self, script: Script) -> str:
        """A one-time ticket for ``script``; the request path to send is ``path(ticket)``."""
        ticket = secrets.token_hex(12)
        self._scripts[ticket] = script
        return ticket

    def forget(self, ticket: str) -> None:
        self._scripts.pop(ticket, None)

    @staticmethod
    def path(ticket: str) -> str:
        return PATH_PREFIX + ticket

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self._scripts.clear()

    def __len__(self) -> int:
        return len(self._scripts)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            target = await asyncio.wait_for(_read_request(reader), READ_TIMEOUT)
            script = self._scripts.pop(target.rpartition("/")[2], None) if target else None
            if script is None:
                writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
            else:
                for wait, data in script.steps:
                    if wait > 0:
                        await asyncio.sleep(wait)
                    writer.write(data)
                    await writer.drain()
            await writer.drain()
        except (OSError, TimeoutError, h11.ProtocolError) as exc:
            logger.debug("imnot fault server: %s", exc)
        except asyncio.CancelledError:
            pass
        finally:
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> str | None:
    """Read one whole request (its body too, so that closing never resets the proxy's
    socket) and return its target."""
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
    target = None
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(65536)
            conn.receive_data(data)
            if not data and target is None:
                return None
            continue
        if isinstance(event, h11.Request):
            target = event.target.decode("ascii", "replace")
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            return target
