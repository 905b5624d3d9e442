"""A time window over the map: two sliders that show only what happened between them.

Layers that know when their features happened (tracks, passes, footprints, violations) carry
a small time index next to their GeoJSON (:func:`attach_times`): per feature a start and an end
in seconds since 1970 UTC, and for a track the time of every vertex. The slider control
(:func:`add_time_slider`) then hides the features outside the window and trims each timed track
to the stretch flown inside it, interpolating the drone's position at the window's edges.

The sliders step through the times at which something happened, not through the calendar: a
fleet that flew ten half-hour missions over six months gets the same fine control inside each
mission as a fleet that flew all day. The page's own script does this with Leaflet alone; no
plugin is loaded.
"""

from __future__ import annotations

from collections.abc import Sequence

import folium
import numpy as np
from branca.element import MacroElement
from folium.template import Template

from maps.panels import add_page_style

__all__ = ["TimeIndex", "TimeSlider", "add_time_slider", "attach_times"]

# Upper bound on the distinct times the sliders step through; more would make each step of
# the control invisible while bloating the page.
_MAX_STOPS = 2000


def _seconds(values: Sequence[float] | np.ndarray) -> list[int | None]:
    arr = np.asarray(values, dtype="float64")
    return [None if not np.isfinite(v) else round(float(v)) for v in arr]


def _deltas(times: np.ndarray | None) -> list[int] | None:
    # A track's vertex times as the first time and then the step to each next vertex: a few
    # digits per vertex instead of ten.
    if times is None:
        return None
    t = np.asarray(times, dtype="float64")
    if len(t) == 0 or not np.isfinite(t).all():
        return None
    whole = np.round(t).astype("int64")
    return [int(whole[0]), *np.diff(whole).tolist()]


class TimeIndex(MacroElement):
    """When each feature of a GeoJSON layer happened, registered for the time slider.

    Parameters
    ----------
    start, end : sequence of float
        Per feature (in feature id order, 0, 1, ...), seconds since 1970 UTC; NaN when
        unknown (such a feature is always shown).
    vertex_times : sequence of array or None, optional
        Per feature, the time of each vertex of its line (or None); the slider trims such lines.
    kind : str
        What the features are, plural (``"flights"``, ``"passes"``), for the slider's status line.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (window.exposureTimeLayers = window.exposureTimeLayers || []).push({
            layer: {{ this._parent.get_name() }},
            kind: {{ this.kind|tojson }},
            t0: {{ this.start|tojson }},
            t1: {{ this.end|tojson }},
            steps: {{ this.steps|tojson }}
        });
        {% endmacro %}
        """
    )

    def __init__(
        self,
        *,
        start: Sequence[float] | np.ndarray,
        end: Sequence[float] | np.ndarray,
        vertex_times: Sequence[np.ndarray | None] | None = None,
        kind: str,
    ) -> None:
        super().__init__()
        self._name = "time_index"
        self.start = _seconds(start)
        self.end = _seconds(end)
        self.steps = [_deltas(t) for t in vertex_times] if vertex_times is not None else None
        self.kind = kind


def attach_times(
    layer: folium.GeoJson,
    *,
    start: Sequence[float] | np.ndarray,
    end: Sequence[float] | np.ndarray,
    vertex_times: Sequence[np.ndarray | None] | None = None,
    kind: str,
) -> folium.GeoJson:
    """Give a GeoJSON layer a time index so that :func:`add_time_slider` filters it.

    Parameters
    ----------
    layer : folium.GeoJson
        A layer whose feature ids are 0, 1, ... in the order of ``start``/``end``.
    start, end : sequence of float
        See :class:`TimeIndex`.
    vertex_times : sequence of array or None, optional
        See :class:`TimeIndex`.
    kind : str
        See :class:`TimeIndex`.

    Returns
    -------
    folium.GeoJson
        ``layer``.

    Examples
    --------
    >>> layer = folium.GeoJson({"type": "FeatureCollection", "features": []})
    >>> _ = attach_times(layer, start=[0.0], end=[60.0], kind="passes")
    >>> m = folium.Map(tiles=None)
    >>> _ = layer.add_to(m)
    >>> 't1: [60]' in m.get_root().render()
    True
    """
    layer.add_child(
        TimeIndex(start=start, end=end, vertex_times=vertex_times, kind=kind), name="time_index"
    )
    return layer


_SLIDER_HTML = """
<div class="exposure-panel exposure-time" id="{name}">
  <div class="exposure-time-head">
    <span class="exposure-panel-title">Time window</span>
    <span class="exposure-time-status" data-role="status"></span>
    <button type="button" data-role="reset" title="Show everything">Show all</button>
  </div>
  <label class="exposure-time-row"><span>From</span>
    <input type="range" data-role="from" aria-label="Time window start" min="0" max="0" value="0">
    <output data-role="from-label"></output></label>
  <label class="exposure-time-row"><span>Until</span>
    <input type="range" data-role="until" aria-label="Time window end" min="0" max="0" value="0">
    <output data-role="until-label"></output></label>
</div>
"""

_SLIDER_CSS = """<style>
.exposure-time { width: 30rem; max-width: calc(100vw - 2rem); }
.exposure-time-head { display: flex; align-items: baseline; gap: 10px; }
.exposure-time-head .exposure-panel-title { white-space: nowrap; }
.exposure-time-status { color: #52606d; flex: 1 1 auto; font-size: 11px; }
.exposure-time button {
    font: inherit; font-size: 11px; padding: 1px 8px; border: 1px solid #9aa5b1;
    border-radius: 3px; background: #f5f7fa; cursor: pointer;
}
.exposure-time-row { display: grid; grid-template-columns: 3rem 1fr 10.5rem; gap: 8px;
    align-items: center; margin-top: 2px; }
.exposure-time-row input { width: 100%; margin: 0; }
.exposure-time-row output { font-variant-numeric: tabular-nums; white-space: nowrap; }
.exposure-time-row > span { color: #52606d; }
</style>"""


class TimeSlider(MacroElement):
    """The time-window control; it filters every layer registered by :func:`attach_times`.

    Parameters
    ----------
    position : str
        Leaflet control corner.
    """

    _template = Template(
        """
        {% macro html(this, kwargs) %}{{ this.html }}{% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var root = document.getElementById({{ this.get_name()|tojson }});
            var entries = window.exposureTimeLayers || [];
            var maxStops = {{ this.max_stops }};
            function part(role) { return root.querySelector('[data-role="' + role + '"]'); }
            function iso(t) {
                return new Date(t * 1000).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
            }
            var stops = [];
            entries.forEach(function (e) {
                e.times = (e.steps || []).map(function (s) {
                    if (!s) { return null; }
                    var out = [s[0]];
                    for (var i = 1; i < s.length; i++) { out.push(out[i - 1] + s[i]); }
                    return out;
                });
                e.all = e.layer.getLayers();
                e.all.forEach(function (l) {
                    var k = Number(l.feature.id);
                    [e.t0[k], e.t1[k]].concat(e.times[k] || []).forEach(function (t) {
                        if (t !== null && t !== undefined) { stops.push(t); }
                    });
                });
            });
            stops.sort(function (a, b) { return a - b; });
            stops = stops.filter(function (t, i) { return i === 0 || t !== stops[i - 1]; });
            if (stops.length > maxStops) {
                var picked = [];
                for (var j = 0; j < maxStops; j++) {
                    picked.push(stops[Math.round(j * (stops.length - 1) / (maxStops - 1))]);
                }
                stops = picked;
            }
            var from = part('from'), until = part('until');
            var control = L.control({position: {{ this.position|tojson }}});
            control.onAdd = function () {
                L.DomEvent.disableClickPropagation(root);
                L.DomEvent.disableScrollPropagation(root);
                return root;
            };
            control.addTo(map);
            if (stops.length === 0) {
                part('status').textContent = 'no timed features';
                from.disabled = until.disabled = true;
                return;
            }
            from.max = until.max = String(stops.length - 1);
            until.value = String(stops.length - 1);
            function trim(line, times, a, b) {
                var full = line._exposureFull || (line._exposureFull = line.getLatLngs().slice());
                var out = [];
                function at(t, i) {
                    var f = (t - times[i - 1]) / ((times[i] - times[i - 1]) || 1);
                    var p = full[i - 1], q = full[i];
                    return L.latLng(p.lat + f * (q.lat - p.lat), p.lng + f * (q.lng - p.lng));
                }
                for (var i = 0; i < full.length; i++) {
                    if (i > 0 && times[i - 1] < a && times[i] > a) { out.push(at(a, i)); }
                    if (times[i] >= a && times[i] <= b) { out.push(full[i]); }
                    if (i > 0 && times[i - 1] < b && times[i] > b) { out.push(at(b, i)); }
                }
                if (out.length === 1) { out.push(out[0]); }
                line.setLatLngs(out);
            }
            function apply() {
                var a = stops[Number(from.value)], b = stops[Number(until.value)];
                var words = [];
                entries.forEach(function (e) {
                    var shown = 0;
                    e.all.forEach(function (l) {
                        var k = Number(l.feature.id);
                        var t0 = e.t0[k], t1 = e.t1[k];
                        var known = t0 !== null && t1 !== null;
                        var visible = !known || (t1 >= a && t0 <= b);
                        if (visible && e.times[k] && l.setLatLngs) { trim(l, e.times[k], a, b); }
                        if (visible && !e.layer.hasLayer(l)) { e.layer.addLayer(l); }
                        if (!visible && e.layer.hasLayer(l)) { e.layer.removeLayer(l); }
                        if (visible) { shown += 1; }
                    });
                    words.push(shown + ' of ' + e.all.length + ' ' + e.kind);
                });
                part('from-label').textContent = iso(a);
                part('until-label').textContent = iso(b);
                part('status').textContent = words.join(' \\u00b7 ');
            }
            from.addEventListener('input', function () {
                if (Number(from.value) > Number(until.value)) { until.value = from.value; }
                apply();
            });
            until.addEventListener('input', function () {
                if (Number(until.value) < Number(from.value)) { from.value = until.value; }
                apply();
            });
            part('reset').addEventListener('click', function () {
                from.value = '0';
                until.value = String(stops.length - 1);
                apply();
            });
            apply();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, *, position: str = "topleft") -> None:
        super().__init__()
        self._name = "time_slider"
        self.position = position
        self.max_stops = _MAX_STOPS
        self.html = _SLIDER_HTML.format(name=self.get_name())


def add_time_slider(m: folium.Map, *, position: str = "topleft") -> folium.Map:
    """Add the time-window control; add it after the layers it filters.

    Parameters
    ----------
    m : folium.Map
        The map; modified in place.
    position : str
        Leaflet control corner.

    Returns
    -------
    folium.Map
        ``m``.

    Examples
    --------
    >>> m = add_time_slider(folium.Map(tiles=None))
    >>> 'aria-label="Time window start"' in m.get_root().render()
    True
    """
    add_page_style(m)
    m.get_root().header.add_child(folium.Element(_SLIDER_CSS), name="exposure_time_css")
    m.add_child(TimeSlider(position=position), name="time_slider")
    return m
