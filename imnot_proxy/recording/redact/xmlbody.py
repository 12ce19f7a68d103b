"""XML (SOAP, WS-Security, any tag soup): secret elements, attributes and text.

A tag scanner does the redaction on the text itself, so everything else stays
byte for byte (prefixes, declaration, whitespace): the content of an element
with a secret name, nested elements and CDATA included, becomes the
placeholder (``<wsse:Password>``, ``<ClientSecret>``); so does a secret-named
attribute, and the value of a ``<param name="password" value="..."/>``-style
pair. Text and attribute values are unescaped and handed back as strings
(JWTs, escaped XML, JSON). It needs no well-formed input: truncated or broken
XML is scanned the same way, and an element that never closes is redacted to
the end.

Then, as a check, a document that parses is read again with ElementTree and the
same rules; anything they still find (a construct the scanner did not read)
makes the document be written from the redacted tree instead. Documents with a
DTD are never parsed: no entity is ever expanded.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

from .context import Pass
from .shapes import PLACEHOLDER

# Attributes hold no "<" (XML forbids it in values too): a stray "<" ends the attempt
# there, so text full of "<" costs one pass, not one pass per "<".
_TAG = re.compile(r"""<(?P<close>/)?(?P<name>[A-Za-z_][\w.:-]*)"""
                  r"""(?P<attrs>(?:[^<>"']|"[^"<]*"|'[^'<]*')*?)(?P<empty>/)?>""")
_ATTR = re.compile(r"""(?P<name>[A-Za-z_][\w.:-]*)\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)')""")
_TEXT_NODE = re.compile(r">([^<]+)<")
_PAIR_NAMES = ("name", "key", "id", "field", "param", "parameter", "type")
# HTML elements that never close: <input name="password" value="..."> has no content.
_VOID = frozenset({"input", "meta", "link", "param", "br", "img", "hr", "col", "area", "base",
                   "embed", "source", "track", "wbr"})
_PAIR_VALUES = ("value", "val", "content", "data")
_DTD = ("<!DOCTYPE", "<!ENTITY", "<!doctype", "<!entity")


def has_tags(text: str) -> bool:
    """Whether text holds a tag anywhere (an XML document, or text quoting one)."""
    return "<" in text and _TAG.search(text) is not None


def redact(text: str, ctx: Pass) -> str:
    """``text`` with secret elements, attributes and values replaced."""
    out = _scan(text, ctx)
    if "<" in out and not any(d in out for d in _DTD):
        out = _checked(out, ctx)
    return out


def _local(name: str) -> str:
    return name.rpartition(":")[2]


def _scan(text: str, ctx: Pass) -> str:
    out: list[str] = []
    pos = 0
    while (m := _TAG.search(text, pos)) is not None:
        out.append(_text(text[pos:m.start()], ctx))
        if m.group("close"):
            out.append(m.group(0))
            pos = m.end()
            continue
        attrs, secret = _attributes(m.group("attrs"), ctx)
        secret = secret or ctx.names.field(_local(m.group("name")))
        out.append(text[m.start():m.start("attrs")] + attrs + text[m.end("attrs"):m.end()])
        pos = m.end()
        if not secret or m.group("empty") or m.group("name").lower() in _VOID:
            continue
        close = re.compile(r"</" + re.escape(m.group("name")) + r"\s*>").search(text, pos)
        end = close.start() if close else len(text)
        content = text[pos:end]
        if content.strip() and content != PLACEHOLDER:
            _secret_content(content, ctx)
            out.append(PLACEHOLDER)
        else:
            out.append(content)
        pos = end
    out.append(_text(text[pos:], ctx))
    return "".join(out)


def _secret_content(content: str, ctx: Pass) -> None:
    ctx.secret(content)
    plain = html.unescape(content.replace("<![CDATA[", "").replace("]]>", ""))
    if "<" not in plain:
        ctx.secret(plain)
        return
    for text in _TEXT_NODE.findall(plain):
        if text.strip():
            ctx.inner_secret(text.strip())


def _text(segment: str, ctx: Pass) -> str:
    """A text node (or CDATA, comment) between two tags, handed back as a string."""
    if len(segment) < 5 or segment.isspace():
        return segment
    for opening, closing in (("<![CDATA[", "]]>"), ("<!--", "-->")):
        if segment.startswith(opening) and segment.endswith(closing):
            inner = segment[len(opening):-len(closing)]
            new = ctx.string(inner)
            return segment if new == inner else opening + new + closing
    plain = html.unescape(segment) if "&" in segment else segment
    new = ctx.string(plain)
    if new == plain:
        return segment
    return html.escape(new, quote=False) if plain is not segment else new


def _attributes(attrs: str, ctx: Pass) -> tuple[str, bool]:
    """Attributes with secret values replaced; and whether the element is a secret pair
    (``name="password"``), whose value attribute and content are secret."""
    if "=" not in attrs:
        return attrs, False
    found = list(_ATTR.finditer(attrs))
    pair = any(_local(a.group("name")).lower() in _PAIR_NAMES
               and ctx.names.field(html.unescape(_value(a))) for a in found)
    out: list[str] = []
    pos = 0
    for a in found:
        name = _local(a.group("name"))
        raw = _value(a)
        plain = html.unescape(raw) if "&" in raw else raw
        if ctx.names.field(name) or (pair and name.lower() in _PAIR_VALUES):
            new = PLACEHOLDER if plain else plain
            if plain:
                ctx.secret(plain)
        else:
            new = ctx.string(plain)
        if new != plain:
            start = a.start("dq") if a.group("dq") is not None else a.start("sq")
            out.append(attrs[pos:start] + html.escape(new, quote=True))
            pos = start + len(raw)
    out.append(attrs[pos:])
    return "".join(out), pair


def _value(a: re.Match[str]) -> str:
    return a.group("dq") if a.group("dq") is not None else (a.group("sq") or "")


def _checked(text: str, ctx: Pass) -> str:
    """The scanner's output, or the document written from a redacted tree when ElementTree
    still finds a secret in it."""
    try:
        root = ET.fromstring(text)
    except (ET.ParseError, ValueError):
        return text
    before = len(ctx.found)
    for el in list(root.iter()):
        _check_element(el, ctx)
    if len(ctx.found) == before:
        return text
    head = text[:text.index("<")]
    decl = ""
    if text.lstrip().startswith("<?xml"):
        decl = text[len(head):text.index("?>") + 2]
    return head + decl + ET.tostring(root, encoding="unicode")


def _check_element(el: ET.Element, ctx: Pass) -> None:
    if not isinstance(el.tag, str):
        return
    pair = any(_local(k).lower() in _PAIR_NAMES and ctx.names.field(v)
               for k, v in el.attrib.items())
    for key, value in el.attrib.items():
        if value and value != PLACEHOLDER and (
                ctx.names.field(_local(key)) or (pair and _local(key).lower() in _PAIR_VALUES)):
            ctx.secret(value)
            el.set(key, PLACEHOLDER)
        elif (new := ctx.string(value)) != value:
            el.set(key, new)
    if ctx.names.field(_local(el.tag.rpartition("}")[2])) or pair:
        inner = "".join(el.itertext())
        if inner.strip() and inner != PLACEHOLDER:
            ctx.secret(inner)
            for text in el.itertext():
                ctx.inner_secret(text.strip())
            for child in list(el):
                el.remove(child)
            el.text = PLACEHOLDER
        return
    for attr in ("text", "tail"):
        value = getattr(el, attr)
        if value and (new := ctx.string(value)) != value:
            setattr(el, attr, new)
