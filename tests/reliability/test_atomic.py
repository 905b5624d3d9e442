"""A run killed at any point leaves the previous complete outputs, or (after recovery) new ones.

``exposure assess`` is started on a synthetic fleet and killed with SIGKILL while it reads,
as it starts writing, and half-way through writing; every output must then be byte-identical
to the previous run's. A kill while the finished outputs are being moved into place is
simulated by killing a run from inside ``os.replace``: the directory then holds complete files
only, and the next run (or ``recover_staged``) finishes the moves. Staging directories left by
killed runs are removed by the next run; one of a live run is left alone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from exposure.output import recover_staged, staged_outputs


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def _staging(folder: Path) -> list[Path]:
    return sorted(folder.glob(".staging-*"))


def _start(cmd: list[str], fleet: Path, sites: Path, out: Path) -> subprocess.Popen[bytes]:
    cwd = out.parent
    return subprocess.Popen(
        [*cmd, "assess", "--logs", str(fleet), "--sites", str(sites), "--out", str(out)],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill_when(proc: subprocess.Popen[bytes], ready, *, limit_s: float = 120.0) -> bool:
    """SIGKILL the run as soon as ``ready()``; False if it finished first."""
    end = time.monotonic() + limit_s
    while proc.poll() is None and time.monotonic() < end:
        if ready():
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.002)
    proc.wait(timeout=limit_s)
    return False


def _files_in_staging(out: Path, at_least: int):
    def ready() -> bool:
        for stage in _staging(out):
            try:
                if len([p for p in stage.iterdir() if not p.name.startswith(".")]) >= at_least:
                    return True
            except FileNotFoundError:
                pass
        return False

    return ready


def _after(seconds: float):
    started = time.monotonic()
    return lambda: time.monotonic() - started > seconds


def test_sigkill_while_reading_and_writing_leaves_the_previous_outputs(
    synthetic_fleets, exposure_cmd, tmp_path
):
    out = tmp_path / "out"
    first, second, sites = (synthetic_fleets[k] for k in ("first", "second", "sites"))
    assert _start(exposure_cmd, first, sites, out).wait(timeout=300) == 0
    before = _outputs(out)
    assert {"site_exposure.csv", "map.html", "manifest.json"} <= set(before)
    moments = {
        "reading the logs": lambda: _after(0.5),
        "the staging directory appears": lambda: lambda: bool(_staging(out)),
        "half of the outputs are staged": lambda: _files_in_staging(out, len(before) // 2),
    }
    killed = []
    for moment, make_ready in moments.items():
        proc = _start(exposure_cmd, second, sites, out)
        if _kill_when(proc, make_ready()):
            killed.append(moment)
        assert _outputs(out) == before, f"killed when {moment}: the previous outputs changed"
    # The kills landed where they were meant to (the run takes seconds; polling is every 2 ms).
    assert killed == list(moments)
    # The next run clears what the killed runs left and writes a complete set.
    proc = _start(exposure_cmd, second, sites, out)
    assert proc.wait(timeout=300) == 0
    assert _staging(out) == []
    after = _outputs(out)
    assert set(after) == set(before)
    assert after["site_exposure.csv"] != before["site_exposure.csv"]
    manifest, earlier = json.loads(after["manifest.json"]), json.loads(before["manifest.json"])
    assert manifest["command"] == "assess" and manifest["counts"] != earlier["counts"]


KILL_DURING_MOVES = """
import os, signal, sys
from pathlib import Path
from exposure.output import staged_outputs

moves = []
real_replace = os.replace

def replace(src, dst):
    if Path(src).parent.name.startswith(".staging-") and Path(dst).parent.name == "out":
        moves.append(dst)
        if len(moves) > int(sys.argv[2]):
            os.kill(os.getpid(), signal.SIGKILL)
    return real_replace(src, dst)

os.replace = replace
with staged_outputs(sys.argv[1]) as staging:
    for name in ("a.csv", "b.csv", "c.csv", "d.csv"):
        (staging / name).write_text(f"new {name}\\n")
"""


@pytest.mark.parametrize("after_moves", [0, 2])
def test_sigkill_while_moving_is_finished_by_recovery(tmp_path, after_moves):
    out = tmp_path / "out"
    out.mkdir()
    for name in ("a.csv", "b.csv", "c.csv", "d.csv"):
        (out / name).write_text(f"old {name}\n")
    proc = subprocess.run(
        [sys.executable, "-c", KILL_DURING_MOVES, str(out), str(after_moves)],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == -signal.SIGKILL
    texts = {p.name: p.read_text() for p in out.iterdir() if p.is_file()}
    # Every file is whole: an old one or a new one, never a part of either.
    assert set(texts) == {"a.csv", "b.csv", "c.csv", "d.csv"}
    assert all(t in (f"old {n}\n", f"new {n}\n") for n, t in texts.items())
    assert sum(t.startswith("new") for t in texts.values()) == after_moves
    (stage,) = _staging(out)
    assert (stage / ".commit").exists()
    done = recover_staged(out)
    assert len(done) == 1 and "finished moving 4 outputs" in done[0]
    assert {p.name: p.read_text() for p in out.iterdir()} == {
        n: f"new {n}\n" for n in ("a.csv", "b.csv", "c.csv", "d.csv")
    }


def test_a_failed_run_leaves_the_previous_outputs(tmp_path):
    (tmp_path / "passes.csv").write_text("previous\n")
    with pytest.raises(RuntimeError, match="boom"), staged_outputs(tmp_path) as staging:
        (staging / "passes.csv").write_text("half")
        raise RuntimeError("boom")
    assert [p.name for p in tmp_path.iterdir()] == ["passes.csv"]
    assert (tmp_path / "passes.csv").read_text() == "previous\n"


def test_staging_left_by_a_killed_run_is_removed_by_the_next(tmp_path):
    stale = tmp_path / ".staging-999999999-x"  # its process (no such pid) is gone
    stale.mkdir()
    (stale / "passes.csv").write_text("half a ta")
    with staged_outputs(tmp_path) as staging:
        (staging / "passes.csv").write_text("complete\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["passes.csv"]
    assert (tmp_path / "passes.csv").read_text() == "complete\n"


def test_a_live_run_keeps_its_staging_directory(tmp_path):
    with staged_outputs(tmp_path) as staging:
        (staging / "passes.csv").write_text("being written")
        # Another command into the same directory meanwhile: it must not take these away.
        assert recover_staged(tmp_path) == []
        assert (staging / "passes.csv").exists()
    assert (tmp_path / "passes.csv").read_text() == "being written"


def test_a_staging_directory_of_unknown_owner_is_removed_only_when_old(tmp_path):
    # Its name does not say which process made it: it may be a run's that just began.
    young = tmp_path / ".staging-new"
    young.mkdir()
    assert recover_staged(tmp_path) == []
    assert young.exists()
    old = time.time() - 3600
    os.utime(young, (old, old))
    assert recover_staged(tmp_path) == [".staging-new: removed the outputs of an unfinished run"]
    assert not young.exists()


def test_stale_outputs_are_removed_in_the_same_commit(tmp_path):
    for name in ("passes.csv", "site_leaks.csv", "visits.csv"):
        (tmp_path / name).write_text(f"old {name}\n")
    # A failed run removes nothing: the old derived tables still match the old passes.
    with pytest.raises(RuntimeError), staged_outputs(tmp_path, remove=["site_leaks.csv"]) as s:
        (s / "passes.csv").write_text("new\n")
        raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["passes.csv", "site_leaks.csv",
                                                          "visits.csv"]
    # A run that completes removes them with its moves; a name it writes is replaced.
    with staged_outputs(tmp_path, remove=["site_leaks.csv", "visits.csv", "passes.csv",
                                          "absent.csv"]) as s:
        (s / "passes.csv").write_text("new\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["passes.csv"]
    assert (tmp_path / "passes.csv").read_text() == "new\n"


def test_a_commit_list_cut_short_removes_stale_outputs_on_recovery(tmp_path):
    # What a run killed right after writing its commit list leaves: the list, the new file
    # not yet moved, the stale table not yet removed.
    (tmp_path / "passes.csv").write_text("old\n")
    (tmp_path / "site_leaks.csv").write_text("old leaks\n")
    stage = tmp_path / ".staging-999999999-x"
    stage.mkdir()
    (stage / "passes.csv").write_text("new\n")
    (stage / ".commit").write_text("passes.csv\n-site_leaks.csv\n")
    done = recover_staged(tmp_path)
    assert len(done) == 1 and "finished" in done[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["passes.csv"]
    assert (tmp_path / "passes.csv").read_text() == "new\n"
