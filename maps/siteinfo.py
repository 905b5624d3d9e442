"""What a site's tooltip adds from other tables: who saw it, and what of it may have leaked.

From ``passes`` (and ``flights`` for the vendor): the drones that had the site in view longest
and each vendor's share of the time in view. From the leak results (``site_leaks``): the
chance that imagery of the site leaked and the chance that its visits became known.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from maps.style import vendor_name
from maps.tables import _duration, _numbers, _percent
from maps.text import MISSING, text

__all__ = ["LEAK_COLUMNS", "site_extras"]

#: Columns of ``site_leaks`` that the tooltip reads, with their labels.
LEAK_COLUMNS: dict[str, str] = {
    "p_any_imagery_leaked": "imagery leaked",
    "p_visits_known": "visits known",
}

_TOP_DRONES = 3


def _contributors(passes: pd.DataFrame, vendors: pd.Series | None) -> pd.DataFrame:
    p = pd.DataFrame(
        {
            "site": passes["site_id"].astype("string"),
            "drone": passes["drone_id"].astype("string").fillna(MISSING),
            "flight": passes["flight_id"].astype("string"),
            "s": _numbers(passes["seconds_in_view"]),
        }
    ).fillna({"s": 0.0})
    p["vendor"] = (
        p["flight"].map(vendors).map(vendor_name) if vendors is not None else "unknown"
    )
    per_drone = (
        p.groupby(["site", "drone", "vendor"], sort=False, dropna=False)["s"].sum().reset_index()
    )
    per_drone = per_drone.sort_values(["site", "s", "drone"], ascending=[True, False, True])
    top = per_drone.groupby("site", sort=False).head(_TOP_DRONES)
    label = [
        f"{text(d)}" + ("" if v == "unknown" else f" ({text(v)})") + f": {_duration(s)}"
        for d, v, s in zip(top["drone"], top["vendor"], top["s"], strict=True)
    ]
    drones = top.assign(label=label).groupby("site", sort=False)["label"].agg("; ".join)
    n_drones = per_drone.groupby("site", sort=False)["drone"].nunique()
    more = (n_drones - _TOP_DRONES).clip(lower=0)
    drones = drones + more.reindex(drones.index).map(lambda k: f"; and {k} more" if k else "")
    out = pd.DataFrame({"top_drones": drones})
    if vendors is not None:
        per_vendor = p.groupby(["site", "vendor"], sort=False)["s"].sum().reset_index()
        total = per_vendor.groupby("site")["s"].transform("sum")
        per_vendor["share"] = np.where(total > 0, per_vendor["s"] / total.where(total > 0), np.nan)
        per_vendor = per_vendor.sort_values(["site", "share", "vendor"],
                                            ascending=[True, False, True])  # fmt: skip
        words = [
            f"{text(v)} {_percent(f)}"
            for v, f in zip(per_vendor["vendor"], per_vendor["share"], strict=True)
        ]
        out["vendors"] = per_vendor.assign(w=words).groupby("site", sort=False)["w"].agg(", ".join)
    return out


def _leak_words(leaks: pd.DataFrame) -> pd.Series:
    frame = pd.DataFrame({"site": leaks["site_id"].astype("string")})
    parts = []
    for column, label in LEAK_COLUMNS.items():
        if column in leaks.columns:
            values = _numbers(leaks[column])
            parts.append([MISSING if np.isnan(v) else f"{label} {_percent(v)}" for v in values])
    words = [
        "; ".join(w for w in row if w != MISSING) or MISSING
        for row in zip(*parts, strict=True)
    ] if parts else [MISSING] * len(frame)  # fmt: skip
    return pd.Series(words, index=frame["site"]).groupby(level=0).first()


def site_extras(
    site_ids: pd.Series,
    *,
    passes: pd.DataFrame | None = None,
    flights: pd.DataFrame | None = None,
    leaks: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Extra tooltip rows per site, aligned with ``site_ids``.

    Parameters
    ----------
    site_ids : pandas.Series
        The sites, in the order of the site table.
    passes : pandas.DataFrame, optional
        Passes (``site_id``, ``drone_id``, ``flight_id``, ``seconds_in_view``).
    flights : pandas.DataFrame, optional
        Flights with ``flight_id`` and ``vendor``, for the vendor of each pass.
    leaks : pandas.DataFrame, optional
        ``site_leaks`` with ``site_id`` and the columns of :data:`LEAK_COLUMNS`.

    Returns
    -------
    pandas.DataFrame
        Escaped text, one row per site (index 0..n-1), one column per extra row.
    dict
        Column → tooltip label, in display order.

    Examples
    --------
    >>> passes = pd.DataFrame({"site_id": ["a", "a", "a"], "drone_id": ["d1", "d2", "d1"],
    ...                        "flight_id": ["f1", "f2", "f3"],
    ...                        "seconds_in_view": [60.0, 300.0, 30.0]})
    >>> flights = pd.DataFrame({"flight_id": ["f1", "f2", "f3"],
    ...                         "vendor": ["DJI", "Skydio", "DJI"]})
    >>> extra, labels = site_extras(pd.Series(["a", "b"]), passes=passes, flights=flights)
    >>> extra.loc[0, "top_drones"]
    'd2 (Skydio): 5 min 00 s; d1 (DJI): 1 min 30 s'
    >>> extra.loc[0, "vendors"], extra.loc[1, "vendors"], list(labels.values())
    ('Skydio 77 %, DJI 23 %', '—', ['Drones longest in view', 'Vendors (share of time)'])
    """
    ids = site_ids.astype("string").reset_index(drop=True)
    out = pd.DataFrame(index=range(len(ids)))
    labels: dict[str, str] = {}
    if passes is not None:
        vendors = None
        if flights is not None and {"flight_id", "vendor"} <= set(flights.columns):
            f = pd.DataFrame(flights)
            vendors = pd.Series(f["vendor"].to_numpy(), index=f["flight_id"].astype("string"))
            vendors = vendors[~vendors.index.duplicated()]
        found = _contributors(pd.DataFrame(passes), vendors)
        for column, label in (("top_drones", "Drones longest in view"),
                              ("vendors", "Vendors (share of time)")):  # fmt: skip
            if column in found:
                out[column] = _texts_or_missing(ids.map(found[column]))
                labels[column] = label
    if leaks is not None and "site_id" in leaks.columns:
        out["leaks"] = _texts_or_missing(ids.map(_leak_words(pd.DataFrame(leaks))))
        labels["leaks"] = "Chance of leak"
    return out, labels


def _texts_or_missing(values: pd.Series) -> np.ndarray:
    """Text per site, the missing mark where there is none (whatever dtype the map produced)."""
    out = values.astype(object).to_numpy()
    return np.where(pd.isna(out), MISSING, out)
