"""The admin web page: its HTML and static files, served from the package.

Open without the admin key, as the original's page is (a browser cannot send a bearer
header when it navigates); every API call the page makes carries the key. Each answer
carries a self-only Content-Security-Policy (no inline script or style), no framing and
no sniffing. The files are read once and answered from memory, with an ETag so that a
reload costs a 304.
"""

from __future__ import annotations

import hashlib
from importlib import resources

from ..messages import MockResponse, RequestView, error_response

PAGE = "/imnot/admin/ui"
ASSETS = PAGE + "/"
INDEX = "index.html"
THEMES = ("dark", "light", "system")
THEME_MARK = b'data-theme="__THEME__"'

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = (
    ("content-security-policy", CSP),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cache-control", "no-cache"),
)
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


class UiPages:
    """The page and its files; ``configure`` follows the ``imnot_ui*`` options."""

    def __init__(self, enabled: bool = True, theme: str = "dark") -> None:
        self.enabled = enabled
        self.theme = theme
        self._files: dict[str, tuple[bytes, str]] | None = None

    def configure(self, enabled: bool, theme: str) -> None:
        self.enabled = enabled
        self.theme = theme if theme in THEMES else "dark"

    def owns(self, path: str) -> bool:
        """Whether this request is for the page (``/`` reaches here only at the admin host)."""
        return self.enabled and (path == "/" or path == PAGE or path.startswith(ASSETS))

    def handle(self, request: RequestView) -> MockResponse:
        if request.method not in ("GET", "HEAD"):
            return error_response(405, "Method Not Allowed", {"Allow": "GET, HEAD"})
        path = request.path
        if path == "/":
            return MockResponse(302, (("location", PAGE), *SECURITY_HEADERS), b"")
        name = INDEX if path in (PAGE, ASSETS) else path[len(ASSETS):]
        found = self.files().get(name)
        if found is None:
            return error_response(404, "Not Found")
        body, etag = found
        if name == INDEX:
            body, etag = self._themed(body, etag)
        headers = (("content-type", TYPES[name[name.rfind("."):]]), ("etag", etag),
                   *SECURITY_HEADERS)
        if etag in _etags(request.headers.get("if-none-match")):
            return MockResponse(304, headers, b"")
        if request.method == "HEAD":
            return MockResponse(200, (*headers, ("content-length", str(len(body)))), b"")
        return MockResponse(200, headers, body)

    def _themed(self, body: bytes, etag: str) -> tuple[bytes, str]:
        return (body.replace(THEME_MARK, f'data-theme="{self.theme}"'.encode()),
                f'"{etag.strip(chr(34))}-{self.theme}"')

    def files(self) -> dict[str, tuple[bytes, str]]:
        """Name to (content, ETag) of every file the page is made of, read on first use."""
        if self._files is None:
            files = {}
            for entry in (resources.files("imnot_proxy") / "ui").iterdir():
                suffix = entry.name[entry.name.rfind("."):]
                if entry.is_file() and suffix in TYPES:
                    data = entry.read_bytes()
                    files[entry.name] = (data, f'"{hashlib.sha256(data).hexdigest()[:20]}"')
            self._files = files
        return self._files


def _etags(header: str | None) -> set[str]:
    if not header:
        return set()
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}
