"""A zone-drawing tool for planners: click a polygon on the map, export it as GeoJSON.

The exported FeatureCollection has one polygon per drawn zone with the zone columns that
``exposure nofly whatif`` reads: ``name``, ``restriction`` (``PROHIBITED``), ``floor_m`` (0),
``ceiling_m`` (from the panel), ``vertical_ref`` (``AGL``) and ``source`` (``drawn on map``).
It is offered as a download (a ``data:`` link made in the page, so nothing leaves the machine)
and in a text box to copy from. The control is this module's own few lines of Leaflet:
Leaflet.draw, the usual plugin, ships on no Python package and would have to come from a CDN.
"""

from __future__ import annotations

import folium
from branca.element import MacroElement
from folium.template import Template

from maps.panels import add_page_style
from maps.text import text

__all__ = ["DrawZones", "add_draw_tool"]

_DRAW_HTML = """
<div class="exposure-panel exposure-draw" id="{name}">
  <button type="button" class="exposure-draw-toggle" data-role="toggle"
    aria-expanded="false" title="Draw proposed no-fly zones and export them">&#9998; Draw zones
  </button>
  <div class="exposure-draw-body" data-role="body" hidden>
    <div class="exposure-note" data-role="hint">Click <b>New zone</b>, then click the map to
      place corners; double-click or <b>Finish</b> closes the zone.</div>
    <div class="exposure-draw-buttons">
      <button type="button" data-role="new">New zone</button>
      <button type="button" data-role="finish" disabled>Finish</button>
      <button type="button" data-role="undo" disabled>Undo corner</button>
      <button type="button" data-role="clear">Clear all</button>
    </div>
    <label class="exposure-draw-field">Ceiling (m above ground)
      <input type="number" data-role="ceiling" min="0" step="10" value="{ceiling:g}"></label>
    <label class="exposure-draw-field">GeoJSON for <code>exposure nofly whatif</code>
      <textarea data-role="geojson" rows="5" readonly spellcheck="false"></textarea></label>
    <button type="button" data-role="download" disabled>Download {filename}</button>
  </div>
</div>
"""

_DRAW_CSS = """<style>
.exposure-draw { padding: 6px 8px; }
.exposure-draw button {
    font: inherit; font-size: 12px; padding: 2px 8px; border: 1px solid #9aa5b1;
    border-radius: 3px; background: #f5f7fa; cursor: pointer;
}
.exposure-draw button:disabled { cursor: default; opacity: 0.5; }
.exposure-draw .exposure-draw-toggle { font-weight: 600; }
.exposure-draw-body { width: 17rem; margin-top: 6px; }
.exposure-draw-buttons { display: flex; flex-wrap: wrap; gap: 4px; margin: 6px 0; }
.exposure-draw-field { display: block; margin: 4px 0; color: #52606d; }
.exposure-draw-field input { width: 6rem; margin-left: 6px; }
.exposure-draw-field textarea {
    display: block; width: 100%; box-sizing: border-box; margin-top: 2px;
    font: 11px/1.35 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
}
.leaflet-container.exposure-drawing { cursor: crosshair; }
</style>"""


class DrawZones(MacroElement):
    """The drawing control; see the module documentation.

    Parameters
    ----------
    position : str
        Leaflet control corner.
    ceiling_m : float
        Default ceiling of a drawn zone, metres above ground.
    filename : str
        Name offered for the download.
    """

    _template = Template(
        """
        {% macro html(this, kwargs) %}{{ this.html }}{% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var root = document.getElementById({{ this.get_name()|tojson }});
            var filename = {{ this.filename|tojson }};
            function part(role) { return root.querySelector('[data-role="' + role + '"]'); }
            var control = L.control({position: {{ this.position|tojson }}});
            control.onAdd = function () {
                L.DomEvent.disableClickPropagation(root);
                L.DomEvent.disableScrollPropagation(root);
                return root;
            };
            control.addTo(map);
            var zones = L.featureGroup().addTo(map);
            var style = {color: '#6a1b9a', weight: 2, dashArray: '6 4', fillOpacity: 0.15};
            var corners = [], sketch = null, drawing = false, count = 0;
            function sketchUpdate() {
                if (sketch) { map.removeLayer(sketch); sketch = null; }
                if (corners.length) {
                    sketch = L.polyline(corners.concat(corners.length > 2 ? [corners[0]] : []),
                        {color: '#6a1b9a', weight: 2, dashArray: '2 4', interactive: false})
                        .addTo(map);
                }
                part('finish').disabled = corners.length < 3;
                part('undo').disabled = corners.length === 0;
            }
            function geojson() {
                var ceiling = Number(part('ceiling').value);
                var features = zones.getLayers().map(function (layer) {
                    var ring = layer.getLatLngs()[0].map(function (p) {
                        return [Number(p.lng.toFixed(6)), Number(p.lat.toFixed(6))];
                    });
                    ring.push(ring[0]);
                    return {type: 'Feature', geometry: {type: 'Polygon', coordinates: [ring]},
                        properties: {name: layer.options.zoneName, restriction: 'PROHIBITED',
                            floor_m: 0, ceiling_m: isFinite(ceiling) ? ceiling : null,
                            vertical_ref: 'AGL', source: 'drawn on map'}};
                });
                return {type: 'FeatureCollection', features: features};
            }
            function refresh() {
                var n = zones.getLayers().length;
                part('geojson').value = n ? JSON.stringify(geojson(), null, 1) : '';
                part('download').disabled = n === 0;
            }
            function setDrawing(on) {
                drawing = on;
                corners = [];
                sketchUpdate();
                L.DomUtil[on ? 'addClass' : 'removeClass'](map.getContainer(), 'exposure-drawing');
                // A double-click finishes a zone; it must not also zoom the map.
                if (on) { map.doubleClickZoom.disable(); } else { map.doubleClickZoom.enable(); }
                part('new').disabled = on;
            }
            function finish() {
                if (corners.length < 3) { return; }
                count += 1;
                L.polygon(corners, L.extend({zoneName: 'drawn zone ' + count}, style))
                    .bindTooltip('drawn zone ' + count).addTo(zones);
                setDrawing(false);
                refresh();
            }
            map.on('click', function (e) {
                if (!drawing) { return; }
                corners.push(e.latlng);
                sketchUpdate();
            });
            map.on('dblclick', function () {
                if (!drawing) { return; }
                // The double-click's second click placed the same corner again.
                var n = corners.length;
                if (n > 1 && corners[n - 1].equals(corners[n - 2])) { corners.pop(); }
                finish();
            });
            part('toggle').addEventListener('click', function () {
                var body = part('body');
                body.hidden = !body.hidden;
                part('toggle').setAttribute('aria-expanded', String(!body.hidden));
                if (body.hidden && drawing) { setDrawing(false); }
                // The open panel needs the room of the provenance box below it.
                if (!body.hidden) {
                    document.querySelectorAll('details.exposure-provenance').forEach(
                        function (d) { d.open = false; });
                }
            });
            part('new').addEventListener('click', function () { setDrawing(true); });
            part('finish').addEventListener('click', finish);
            part('undo').addEventListener('click', function () {
                corners.pop();
                sketchUpdate();
            });
            part('clear').addEventListener('click', function () {
                zones.clearLayers();
                setDrawing(false);
                refresh();
            });
            part('ceiling').addEventListener('input', refresh);
            part('download').addEventListener('click', function () {
                // A data: link made in the page: the file is saved without any request.
                var a = document.createElement('a');
                a.download = filename;
                a.href = 'data:application/geo+json;charset=utf-8,'
                    + encodeURIComponent(JSON.stringify(geojson(), null, 1) + '\\n');
                document.body.appendChild(a);
                a.click();
                a.remove();
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        *,
        position: str = "topleft",
        ceiling_m: float = 150.0,
        filename: str = "proposed_zones.geojson",
    ) -> None:
        super().__init__()
        self._name = "draw_zones"
        self.position = position
        self.filename = filename
        self.html = _DRAW_HTML.format(
            name=self.get_name(), ceiling=float(ceiling_m), filename=text(filename)
        )


def add_draw_tool(
    m: folium.Map,
    *,
    position: str = "topleft",
    ceiling_m: float = 150.0,
    filename: str = "proposed_zones.geojson",
) -> folium.Map:
    """Add the zone-drawing control (see :mod:`maps.draw`).

    Parameters
    ----------
    m : folium.Map
        The map; modified in place.
    position : str
        Leaflet control corner.
    ceiling_m : float
        Default ceiling of a drawn zone, metres above ground (the planner can change it).
    filename : str
        Name offered for the downloaded GeoJSON.

    Returns
    -------
    folium.Map
        ``m``.

    Examples
    --------
    >>> page = add_draw_tool(folium.Map(tiles=None)).get_root().render()
    >>> "Download proposed_zones.geojson" in page, "PROHIBITED" in page
    (True, True)
    """
    add_page_style(m)
    m.get_root().header.add_child(folium.Element(_DRAW_CSS), name="exposure_draw_css")
    m.add_child(
        DrawZones(position=position, ceiling_m=ceiling_m, filename=filename), name="draw_zones"
    )
    return m
