"""The admin web page as files served by ``UiPages``: headers, theme, key, assets; and the
rules that keep it safe (every file the page needs ships, no inline script or style, no
markup built from text). The page at work in a browser: ``tests/e2e/test_admin_ui_e2e.py``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mitmproxy import exceptions, http
from mitmproxy.test import tflow

from imnot_proxy.addon import ImnotProxy
from imnot_proxy.admin import AdminApi, AdminService
from imnot_proxy.admin.ui import PAGE, UiPages
from imnot_proxy.definitions import Definitions
from imnot_proxy.messages import CIHeaders, MockResponse, RequestView

UI_DIR = Path(__file__).resolve().parents[2] / "imnot_proxy" / "ui"


@pytest.fixture
def api(tmp_path, store, load_text):
    result = load_text("""
        partner: p
        datapoints:
          - {name: config, pattern: static, endpoints: [{method: GET, path: /config}]}
        """, tmp_path)
    definitions = Definitions([str(tmp_path / "partner.yaml")], store)
    definitions.apply(result.partners)
    keys: list[str | None] = [None]
    admin = AdminApi(AdminService(definitions, store, admin_key=lambda: keys[0]))
    admin.keys = keys  # type: ignore[attr-defined]
    return admin


def get(api: AdminApi, path: str, method: str = "GET", **headers: str) -> MockResponse:
    return api.handle(RequestView(method, path, headers=CIHeaders(headers)))


def header(response: MockResponse, name: str) -> str | None:
    return next((v for k, v in response.headers if k.lower() == name), None)


# --- the page ------------------------------------------------------------------------

def test_page_is_html_in_the_default_dark_theme(api):
    response = get(api, PAGE)
    assert response.status == 200
    assert header(response, "content-type") == "text/html; charset=utf-8"
    assert b'data-theme="dark"' in response.body
    assert b"__THEME__" not in response.body
    assert b"imnot" in response.body


@pytest.mark.parametrize("theme", ["light", "system", "dark"])
def test_theme_comes_from_configure(api, theme):
    api.ui.configure(True, theme)
    assert f'data-theme="{theme}"'.encode() in get(api, PAGE).body


def test_security_headers_on_the_page_and_its_files(api):
    for path in (PAGE, f"{PAGE}/app.js", f"{PAGE}/ui.css", "/"):
        response = get(api, path)
        csp = header(response, "content-security-policy")
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["default-src"] == "'self'"
        assert directives["script-src"] == "'self'"  # no inline script, no eval
        assert directives["style-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'"
        assert header(response, "x-frame-options") == "DENY"
        assert header(response, "x-content-type-options") == "nosniff"
        assert header(response, "referrer-policy") == "no-referrer"


def test_page_opens_without_the_key_and_the_api_still_needs_it(api):
    api.keys[0] = "s3cret"
    assert get(api, PAGE).status == 200
    assert get(api, f"{PAGE}/api.js").status == 200
    assert get(api, "/imnot/admin/partners").status == 401
    assert get(api, "/imnot/admin/partners", authorization="Bearer s3cret").status == 200


def test_the_admin_host_root_leads_to_the_page(api):
    response = get(api, "/")
    assert (response.status, header(response, "location")) == (302, PAGE)


def test_disabled_page_is_not_found_like_the_original(api):
    api.ui.configure(False, "dark")
    assert get(api, PAGE).status == 404
    assert get(api, f"{PAGE}/app.js").status == 404
    api.keys[0] = "s3cret"
    assert get(api, PAGE).status == 401  # nothing is open any more
    assert get(api, "/").status == 401


def test_assets_have_their_types_and_unknown_names_are_not_found(api):
    assert header(get(api, f"{PAGE}/app.js"), "content-type") == "text/javascript; charset=utf-8"
    assert header(get(api, f"{PAGE}/ui.css"), "content-type") == "text/css; charset=utf-8"
    assert header(get(api, f"{PAGE}/favicon.svg"), "content-type") == "image/svg+xml"
    for name in ("nope.js", "..%2Fapi.py", "../api.py", "sub/app.js", ""):
        response = get(api, f"{PAGE}/{name}")
        assert response.status == 404 or (name == "" and response.status == 200), name


def test_etag_answers_304_and_head_has_no_body(api):
    first = get(api, f"{PAGE}/app.js")
    etag = header(first, "etag")
    again = get(api, f"{PAGE}/app.js", **{"if-none-match": etag})
    assert (again.status, again.body) == (304, b"")
    page = get(api, PAGE)
    assert get(api, PAGE, **{"if-none-match": header(page, "etag")}).status == 304
    api.ui.configure(True, "light")  # another theme is another page
    assert get(api, PAGE, **{"if-none-match": header(page, "etag")}).status == 200
    head = get(api, PAGE, "HEAD")
    assert (head.status, head.body) == (200, b"")
    assert header(head, "content-length") == str(len(get(api, PAGE).body))


def test_only_get_and_head(api):
    response = get(api, PAGE, "POST")
    assert (response.status, header(response, "allow")) == (405, "GET, HEAD")


# --- what the page is made of ----------------------------------------------------------

def test_every_file_the_page_loads_ships_in_the_package():
    files = UiPages().files()
    html = files["index.html"][0].decode()
    wanted = set(re.findall(r'(?:src|href)="/imnot/admin/ui/([^"]+)"', html))
    for name, (body, _) in files.items():
        if name.endswith(".js"):
            wanted |= set(re.findall(r'from "\./([^"]+)"', body.decode()))
    assert wanted >= {"app.js", "ui.css", "favicon.svg", "api.js", "dom.js", "yaml.js"}
    assert wanted <= set(files), wanted - set(files)
    assert set(files) - wanted == {"index.html"}  # nothing shipped that nothing uses


def test_no_inline_script_style_or_handlers_in_the_page():
    html = (UI_DIR / "index.html").read_text()
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert " style=" not in html and "<style" not in html
    assert re.findall(r"\son[a-z]+=", html) == []
    assert "http://" not in html and "https://" not in html  # nothing from elsewhere


@pytest.mark.parametrize("name", sorted(p.name for p in UI_DIR.glob("*.js")))
def test_scripts_never_turn_text_into_markup_or_code(name):
    source = (UI_DIR / name).read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function", "srcdoc", "javascript:", "setAttribute(\"on"):
        assert sink not in source, f"{name} uses {sink}"
    assert not re.search(r"setTimeout\(\s*[\"'`]", source)


# --- the options, through the addon ----------------------------------------------------

@pytest.fixture
async def proxy(partners_dir: Path, tmp_path: Path, addon_context):
    addon = ImnotProxy()
    with addon_context(addon) as tctx:
        tctx.configure(addon, imnot_partners=[str(partners_dir)],
                       imnot_db=str(tmp_path / "imnot.db"))
        yield addon, tctx
        addon.done()


async def page_flow(tctx, addon, url: str) -> http.HTTPFlow:
    flow = tflow.tflow(req=http.Request.make("GET", url))
    await tctx.cycle(addon, flow)
    return flow


async def test_options_choose_the_theme_and_turn_the_page_off(proxy):
    addon, tctx = proxy
    url = f"http://imnot.proxy{PAGE}"
    assert b'data-theme="dark"' in (await page_flow(tctx, addon, url)).response.content
    tctx.configure(addon, imnot_ui_theme="system")
    assert b'data-theme="system"' in (await page_flow(tctx, addon, url)).response.content
    root = await page_flow(tctx, addon, "http://imnot.proxy/")
    assert (root.response.status_code, root.response.headers["location"]) == (302, PAGE)
    tctx.configure(addon, imnot_ui=False)
    assert (await page_flow(tctx, addon, url)).response.status_code == 404


async def test_unknown_theme_is_refused(proxy):
    addon, tctx = proxy
    with pytest.raises(exceptions.OptionsError, match="imnot_ui_theme"):
        tctx.configure(addon, imnot_ui_theme="pink")
    assert tctx.options.imnot_ui_theme == "dark"
