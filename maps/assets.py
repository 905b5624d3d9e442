"""Leaflet, inlined: the offline page carries its own JavaScript and CSS.

The files are read at run time from the installed ``xstatic-leaflet`` package (Leaflet 1.9.3, the
version folium pins); nothing third-party is copied into this repository. Images that the CSS
references become ``data:`` URIs, so the page needs no file next to it and no network.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

import folium
import xstatic.pkg.leaflet as xleaflet
from branca.element import Element, MacroElement
from folium.template import Template

from maps.errors import MapError

__all__ = [
    "LEAFLET_VERSION",
    "LeafletAssets",
    "inline_leaflet",
    "leaflet_assets",
    "offline_problems",
]

#: Leaflet version of the installed assets package.
LEAFLET_VERSION: str = xleaflet.VERSION

_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]*)\1\s*\)", re.IGNORECASE)
# Old Internet Explorer's VML hook (`behavior: url(#default#VML)`); no current browser reads it,
# and it is the one url() in leaflet.css that is not an image.
_VML_BEHAVIOR = re.compile(r"behavior\s*:\s*url\(\s*#default#VML\s*\)\s*;?", re.IGNORECASE)
# Comments carry URLs (bug tracker references) that are never fetched but read like references.
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
# Developer tools fetch a source map when they open; the inline copy has none to offer.
_SOURCE_MAP = re.compile(r"^\s*//[#@]\s*sourceMappingURL=.*$", re.MULTILINE)


@dataclass(frozen=True)
class LeafletAssets:
    """Leaflet's stylesheet and script, ready to be placed in a page head.

    Attributes
    ----------
    css : str
        ``leaflet.css`` without comments, every image inlined as a ``data:`` URI.
    js : str
        ``leaflet.js`` without its source-map comment.
    version : str
        Leaflet version.
    """

    css: str
    js: str
    version: str

    @property
    def style_block(self) -> str:
        """The stylesheet as a ``<style>`` element."""
        return f"<style>\n{self.css}\n</style>"

    @property
    def script_block(self) -> str:
        """The script as a ``<script>`` element."""
        return f"<script>\n{self.js}\n</script>"


def _data_uri(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _inline_css_images(css: str, base: Path) -> str:
    problems: list[str] = []

    def replace(match: re.Match[str]) -> str:
        target = match.group(2).strip()
        if target.startswith("data:"):
            return match.group(0)
        path = (base / target).resolve()
        if not path.is_relative_to(base.resolve()) or not path.is_file():
            problems.append(target)
            return match.group(0)
        return f'url("{_data_uri(path)}")'

    out = _URL.sub(replace, _VML_BEHAVIOR.sub("", css))
    if problems:
        raise MapError(f"leaflet.css in {base}: cannot inline url() targets {problems}")
    return out


def leaflet_assets() -> LeafletAssets:
    """Read Leaflet's CSS and JavaScript from the installed package, ready to inline.

    Returns
    -------
    LeafletAssets
        The stylesheet (images as ``data:`` URIs) and the script.

    Raises
    ------
    MapError
        If the package's files are missing, a stylesheet ``url()`` cannot be inlined, or a
        file contains text that would end its inline element early.

    Examples
    --------
    >>> assets = leaflet_assets()
    >>> assets.version, "url(images/" in assets.css, "sourceMappingURL" in assets.js
    ('1.9.3', False, False)
    """
    base = Path(xleaflet.BASE_DIR)
    try:
        css = (base / "leaflet.css").read_text(encoding="utf-8")
        js = (base / "leaflet.js").read_text(encoding="utf-8")
    except OSError as exc:
        raise MapError(f"cannot read Leaflet from the xstatic-leaflet package: {exc}") from None
    css = _inline_css_images(_CSS_COMMENT.sub("", css), base)
    js = _SOURCE_MAP.sub("", js)
    if re.search(r"</style", css, re.IGNORECASE) or re.search(r"</script", js, re.IGNORECASE):
        raise MapError(f"Leaflet files in {base} contain a closing tag; cannot inline them")
    return LeafletAssets(css=css, js=js, version=LEAFLET_VERSION)


class _AttributionPrefix(MacroElement):
    """Replace Leaflet's linked attribution prefix by plain text, so no link leaves the page."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        if ({{ this._parent.get_name() }}.attributionControl) {
            {{ this._parent.get_name() }}.attributionControl.setPrefix({{ this.prefix|tojson }});
        }
        {% endmacro %}
        """
    )

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self._name = "attribution_prefix"
        self.prefix = prefix


def inline_leaflet(m: folium.Map) -> folium.Map:
    """Make a map carry Leaflet inside its page instead of loading it from CDNs.

    The map's own ``default_js``/``default_css`` are emptied (on the instance: the class lists are
    shared by every map) and Leaflet's stylesheet and script are placed in the page head. Calling
    it twice changes nothing more. Plugins that need jQuery, Bootstrap or Font Awesome stop
    working on such a map; the layers of this package need none of them.

    Parameters
    ----------
    m : folium.Map
        The map; modified in place.

    Returns
    -------
    folium.Map
        The same map.

    Examples
    --------
    >>> m = inline_leaflet(folium.Map(tiles=None))
    >>> m.default_js, len(folium.Map.default_js) > 0
    ([], True)
    """
    assets = leaflet_assets()
    m.default_js = []
    m.default_css = []
    header = m.get_root().header
    # Named children replace each other, so a second call does not add a second copy; index 0
    # puts Leaflet ahead of any script that uses it.
    header.add_child(Element(assets.script_block), name="leaflet_js_inline", index=0)
    header.add_child(Element(assets.style_block), name="leaflet_css_inline", index=0)
    if "attribution_prefix" not in m._children:
        m.add_child(_AttributionPrefix(f"Leaflet {assets.version}"), name="attribution_prefix")
    return m


_SCRIPT_SRC = re.compile(r"<script\b[^>]*\bsrc\s*=[^>]*>", re.IGNORECASE)
_LINK = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_IMPORT = re.compile(r"@import\b[^;]*", re.IGNORECASE)
_SCHEME = re.compile(r"\b(?:https?|ftp|wss?)://[^\s\"'<>)]*", re.IGNORECASE)
# An attribute that makes the browser load something, inside a real tag (escaped text has no
# literal "<", so a name like "<img src=x>" never matches).
_LOADING_ATTR = re.compile(
    r"<[A-Za-z][^<>]*?\s(?:src|srcset|href|poster|data|action|formaction|background)"
    r"\s*=\s*(['\"]?)([^'\"\s>]*)\1",
    re.IGNORECASE,
)


def offline_problems(page: str) -> list[str]:
    """List every reference in a rendered page that would make a browser load something.

    Checked: ``<script src>``, ``<link>``, CSS ``url()`` whose target is not ``data:``,
    ``@import``, tag attributes such as ``src`` or ``href`` whose value is neither ``data:`` nor
    a ``#fragment``, and any literal ``http://``, ``https://``, ``ftp://`` or ``ws(s)://`` URL.
    The inlined Leaflet script is left out: its URLs are an XML namespace, a comment and a link
    text (made plain by :func:`inline_leaflet`), none of which is fetched. Untrusted text is
    escaped by :func:`maps.text.text`, which also breaks ``://``, ``url(`` and ``@import``, so
    a site named after a URL does not count.

    Parameters
    ----------
    page : str
        The HTML of the page.

    Returns
    -------
    list of str
        One line per offending reference; empty when the page is self-contained.

    Examples
    --------
    >>> offline_problems('<script src="https://cdn.example/x.js"></script>')[0]
    'script loaded by src: <script src="https://cdn.example/x.js">'
    >>> offline_problems("<style>a{background:url(data:image/png;base64,AAAA)}</style>")
    []
    """
    rest = page.replace(leaflet_assets().js, "")
    problems = [f"script loaded by src: {m.group(0)[:160]}" for m in _SCRIPT_SRC.finditer(rest)]
    problems.extend(f"link element: {m.group(0)[:160]}" for m in _LINK.finditer(rest))
    problems.extend(
        f"url() not a data: URI: {m.group(0)[:160]}"
        for m in _URL.finditer(rest)
        if not m.group(2).strip().lower().startswith("data:")
    )
    problems.extend(f"CSS @import: {m.group(0)[:160]}" for m in _IMPORT.finditer(rest))
    problems.extend(
        f"attribute loads {m.group(2)[:160]!r}: {m.group(0)[:160]}"
        for m in _LOADING_ATTR.finditer(rest)
        if m.group(2) and not m.group(2).lower().startswith(("data:", "#"))
    )
    problems.extend(f"network URL: {m.group(0)[:160]}" for m in _SCHEME.finditer(rest))
    return list(dict.fromkeys(problems))
