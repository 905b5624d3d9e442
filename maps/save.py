"""Render a map to one deterministic, self-contained HTML file."""

from __future__ import annotations

import copy
import os
import re
import secrets
from pathlib import Path

import folium
from branca.element import Element

from maps.assets import offline_problems
from maps.errors import MapError, OfflineError

__all__ = ["render_html", "save_html", "write_atomic"]


def _elements(root: Element) -> list[Element]:
    found = [root]
    if isinstance(root, folium.Figure):
        found += [root.header, root.html, root.script]
    for child in list(root._children.values()):
        found.extend(_elements(child))
    return found


def _stable_ids(page: str, root: Element) -> str:
    # folium names every element after a random uuid4 hex; number them instead, in order of
    # first appearance, so that the same map renders to the same bytes.
    ids = {e._id for e in _elements(root) if re.fullmatch(r"[0-9a-f]{32}", str(e._id))}
    if not ids:
        return page
    found = re.finditer("|".join(sorted(ids)), page)
    order = list(dict.fromkeys(match.group(0) for match in found))
    numbers = {old: str(i) for i, old in enumerate(order, start=1)}
    return re.sub("|".join(order), lambda match: numbers[match.group(0)], page) if order else page


def render_html(m: folium.Map, *, offline: bool = True) -> str:
    """Render a map's whole page, with stable element ids; the map itself is left unchanged.

    Parameters
    ----------
    m : folium.Map
        The map.
    offline : bool
        Check that the page loads nothing: no external script, stylesheet, image or tile.

    Returns
    -------
    str
        The HTML page.

    Raises
    ------
    OfflineError
        With ``offline=True``, listing every reference that would reach the network.

    Examples
    --------
    >>> from maps.assets import inline_leaflet
    >>> m = inline_leaflet(folium.Map(tiles=None))
    >>> render_html(m) == render_html(m)
    True
    >>> render_html(folium.Map(tiles=None))
    Traceback (most recent call last):
    ...
    maps.errors.OfflineError: the page would load ...
    """
    # Rendering adds elements with fresh random ids to the page (folium's layers do this on
    # every render), so render a copy: the map stays as built and every render starts equal.
    root = copy.deepcopy(m.get_root())
    page = _stable_ids(root.render(), root)
    if offline:
        problems = offline_problems(page)
        if problems:
            raise OfflineError(
                f"the page would load {len(problems)} resource(s) over the network; build the "
                "map with maps.risk_map or maps.inline_leaflet and without tiles, or save with "
                "offline=False:\n  " + "\n  ".join(problems)
            )
    return page


def save_html(m: folium.Map, path: str | os.PathLike[str], *, offline: bool = True) -> Path:
    """Write a map as one self-contained HTML file, atomically.

    The page is rendered and checked first, then written to a temporary file in the target
    directory and moved over ``path`` in one step: a reader never sees half a file, and a
    failure leaves no file behind. Two saves of the same map are byte-identical.

    Parameters
    ----------
    m : folium.Map
        The map.
    path : str or os.PathLike
        Target file; its directory must exist.
    offline : bool
        Refuse to write a page that would make any network request (see :func:`render_html`).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    MapError
        If the target directory does not exist or ``path`` is a directory.
    OfflineError
        With ``offline=True``, if the page would reach the network; nothing is written.
    OSError
        If writing fails; the temporary file is removed.

    Examples
    --------
    >>> import tempfile
    >>> from maps.assets import inline_leaflet
    >>> with tempfile.TemporaryDirectory() as d:
    ...     out = save_html(inline_leaflet(folium.Map(tiles=None)), Path(d) / "map.html")
    ...     sorted(p.name for p in Path(d).iterdir())
    ['map.html']
    """
    target = _target(path)
    return write_atomic(render_html(m, offline=offline).encode("utf-8"), target)


def _target(path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    if not target.parent.is_dir():
        raise MapError(f"cannot write {target}: directory {target.parent} does not exist")
    if target.is_dir():
        raise MapError(f"cannot write {target}: it is a directory")
    return target


def write_atomic(data: bytes, path: str | os.PathLike[str]) -> Path:
    """Write bytes to a file atomically: a temporary file beside it, then one rename.

    Parameters
    ----------
    data : bytes
        The content.
    path : str or os.PathLike
        Target file; its directory must exist.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    MapError
        If the target directory does not exist or ``path`` is a directory.
    OSError
        If writing fails; the temporary file is removed and an existing file is untouched.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_atomic(b"x", Path(d) / "a.txt").read_bytes()
    b'x'
    """
    target = _target(path)
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            # O_EXCL: never reuse someone else's file; mode 0o666 lets the umask decide, as
            # for any file the user creates.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        break
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
