"""Fixed HTML on the map's face: the caveat banner, legends, and the provenance box.

Each panel is static, escaped HTML in the page body, so it reads the same in the page source as on
screen; a few lines of script then hand it to Leaflet as a map control, which keeps it in a map
corner and stacks it with the zoom, scale and layer controls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import folium
from branca.element import Element, MacroElement
from folium.template import Template

from maps.text import text

__all__ = ["HtmlControl", "add_banner", "add_page_style", "add_provenance", "provenance_html"]

_FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'

# One stylesheet for every panel, banner and tooltip of this package. Only local fonts are
# named, so the browser fetches nothing. A panel waits hidden in the page body until its script
# moves it into the map: visible there, it would shrink the map before the map fits its bounds.
_PAGE_CSS = f"""<style>
body > .exposure-panel {{ display: none; }}
.leaflet-container {{ background: #e8edf1; }}
.leaflet-container .leaflet-control-layers {{ font: 13px/1.5 {_FONT}; }}
.leaflet-container .leaflet-control-attribution,
.leaflet-container .leaflet-control-scale-line {{ font: 11px/1.4 {_FONT}; }}
.exposure-panel {{
    background: rgba(255, 255, 255, 0.95); color: #1f2933; border-radius: 4px;
    box-shadow: 0 1px 5px rgba(0, 0, 0, 0.35); padding: 8px 10px; max-width: 22rem;
    font: 12px/1.45 {_FONT};
}}
.exposure-panel-title {{ font-weight: 600; font-size: 12.5px; margin: 0 0 4px; }}
.exposure-row {{ display: flex; align-items: center; gap: 7px; margin: 2px 0; }}
.exposure-count {{ color: #52606d; margin-left: auto; padding-left: 10px; }}
.exposure-swatch {{
    flex: none; width: 18px; height: 12px; border: 1px solid #4a4a4a; border-radius: 2px;
}}
.exposure-swatch.exposure-none {{ border-style: dashed; opacity: 0.8; }}
.exposure-line {{ flex: none; width: 18px; height: 0; border-top: 3px solid; }}
.exposure-note {{ color: #52606d; font-size: 11px; margin-top: 5px; max-width: 15rem; }}
.exposure-legend + .exposure-legend {{ margin-top: 0; }}
.exposure-status {{ font-weight: 600; }}
.exposure-status::before {{ content: "\\25CF"; margin-right: 5px; }}
.exposure-status.exposure-offline::before {{ color: #1b7837; }}
.exposure-status.exposure-online::before {{ color: #d95f02; }}
.exposure-provenance {{ margin-top: 4px; }}
.exposure-provenance summary {{ cursor: pointer; font-weight: 600; }}
.exposure-provenance dl {{
    display: grid; grid-template-columns: auto 1fr; gap: 1px 10px; margin: 6px 0 0;
}}
.exposure-provenance dt {{ color: #52606d; }}
.exposure-provenance dd {{ margin: 0; overflow-wrap: anywhere; }}
.exposure-provenance dd dl {{ margin: 0; }}
.exposure-tooltip {{ font: 12px/1.4 {_FONT}; }}
.exposure-tooltip th {{
    text-align: left; vertical-align: top; color: #52606d; font-weight: 600; padding-right: 10px;
}}
.exposure-tooltip td {{ white-space: normal; min-width: 10rem; max-width: 22rem; }}
.exposure-tooltip tr:first-child td {{ font-weight: 600; }}
.exposure-nowrap {{ white-space: nowrap; }}
@media (max-height: 900px) {{
    .exposure-legend .exposure-note {{ display: none; }}
    .exposure-panel {{ padding: 5px 8px; }}
}}
</style>"""

# The banner turns the page into a column: banner, map, banner. Folium sizes the map to 100 % of
# the page, which would push the lower banner off screen, hence the override of its height.
_BANNER_CSS = f"""<style>
html, body {{ height: 100%; margin: 0; }}
body {{ display: flex; flex-direction: column; }}
.folium-map {{ flex: 1 1 auto; min-height: 0; height: auto !important; order: 1; }}
.exposure-banner {{
    flex: none; order: 0; background: #1f2933; color: #ffffff; text-align: center;
    font: 600 13px/26px {_FONT}; letter-spacing: 0.06em; padding: 0 12px;
    white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
}}
.exposure-banner.exposure-bottom {{ order: 2; }}
</style>"""


def add_page_style(m: folium.Map) -> None:
    """Add the package's stylesheet to the page head once.

    Parameters
    ----------
    m : folium.Map
        The map; modified in place.
    """
    m.get_root().header.add_child(Element(_PAGE_CSS), name="exposure_page_css")


class HtmlControl(MacroElement):
    """A block of HTML shown in a corner of the map as a Leaflet control.

    Parameters
    ----------
    html : str
        Trusted HTML: every untrusted value in it must already be escaped.
    position : str
        ``"topleft"``, ``"topright"``, ``"bottomleft"`` or ``"bottomright"``.
    css_class : str
        Class of the wrapping ``div``.

    Examples
    --------
    >>> m = folium.Map(tiles=None)
    >>> _ = HtmlControl("<b>note</b>", position="topleft").add_to(m)
    >>> "<b>note</b>" in m.get_root().render()
    True
    """

    _template = Template(
        """
        {% macro html(this, kwargs) %}
        <div id="{{ this.get_name() }}" class="{{ this.css_class }}">{{ this.html }}</div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var control = L.control({position: {{ this.position|tojson }}});
            control.onAdd = function () {
                var div = document.getElementById({{ this.get_name()|tojson }});
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            control.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, html: str, *, position: str, css_class: str = "exposure-panel") -> None:
        super().__init__()
        self._name = "html_control"
        self.html = html
        self.position = position
        self.css_class = css_class


def add_banner(m: folium.Map, banner: str) -> None:
    """Show a caveat line (e.g. a classification marking) across the top and bottom of the page.

    Parameters
    ----------
    m : folium.Map
        The map; modified in place.
    banner : str
        Untrusted text; escaped here. It also becomes the page title.

    Examples
    --------
    >>> m = folium.Map(tiles=None)
    >>> add_banner(m, "UNCLASSIFIED // demo <data>")
    >>> page = m.get_root().render()
    >>> page.count("UNCLASSIFIED // demo &lt;data&gt;")
    3
    """
    root = m.get_root()
    safe = text(banner)
    root.title = safe
    root.header.add_child(Element(_BANNER_CSS), name="exposure_banner_css")
    for where in ("bottom", "top"):  # inserted in front: top ends up first
        div = f'<div class="exposure-banner exposure-{where}" role="note">{safe}</div>'
        root.html.add_child(Element(div), name=f"exposure_banner_{where}", index=0)


def _value_html(value: object) -> str:
    if isinstance(value, Mapping):
        return _dl(value)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return ", ".join(text(v) for v in value)
    return text(value)


def _dl(items: Mapping[object, object]) -> str:
    rows = "".join(f"<dt>{text(k)}</dt><dd>{_value_html(v)}</dd>" for k, v in items.items())
    return f"<dl>{rows}</dl>"


def provenance_html(provenance: Mapping[str, object] | None, *, network: str | None) -> str:
    """HTML of the provenance box: the network status line, then the provenance entries.

    Parameters
    ----------
    provenance : mapping or None
        Inputs, parameters, versions; values may be scalars, sequences or nested mappings. Keys
        and values are untrusted and escaped.
    network : str or None
        None for a page that makes no network request; otherwise what it loads, e.g.
        ``"basemap tiles from tile.openstreetmap.org"``.

    Returns
    -------
    str
        The status line, then the entries in a ``<details>`` element, open by default.

    Examples
    --------
    >>> box = provenance_html({"sites": "<x>.csv"}, network=None)
    >>> "offline: no network requests" in box, "<dt>sites</dt><dd>&lt;x&gt;.csv</dd>" in box
    (True, True)
    """
    if network is None:
        kind, words = "offline", "offline: no network requests"
    else:
        kind, words = "online", f"online: {text(network)}"
    status = f'<div class="exposure-status exposure-{kind}">{words}</div>'
    if not provenance:
        return status
    return (
        f'{status}<details class="exposure-provenance" open><summary>Provenance</summary>'
        f"{_dl(provenance)}</details>"
    )


def add_provenance(
    m: folium.Map, provenance: Mapping[str, object] | None, *, network: str | None
) -> None:
    """Put the provenance box, with the map's network status, in the lower right corner.

    Parameters
    ----------
    m : folium.Map
        The map; modified in place.
    provenance : mapping or None
        See :func:`provenance_html`.
    network : str or None
        See :func:`provenance_html`.
    """
    add_page_style(m)
    m.add_child(HtmlControl(provenance_html(provenance, network=network), position="bottomright"))
    # On a short page (a map embedded in a briefing) the open box would cover the map.
    m.get_root().html.add_child(Element(_FOLD_SCRIPT), name="exposure_fold_script")


_FOLD_SCRIPT = """<script>
document.addEventListener("DOMContentLoaded", function () {
    if (window.innerHeight >= 760) { return; }
    document.querySelectorAll("details.exposure-provenance").forEach(function (d) {
        d.open = false;
    });
});
</script>"""
