"""Measuring one configuration: a subprocess's wall time, CPU time and peak memory.

Each measured configuration runs in its own process, so its memory is its own. Peak RSS is the
larger of (1) the highest sum of RSS over the process and all its descendants, sampled every
20 ms with psutil, and (2) the largest kernel-recorded peak of any one process of the tree
(`VmHWM` in /proc/<pid>/status, exact between samples; `wait4`'s `ru_maxrss` is not used: Linux
carries the forking parent's peak over into it). CPU time is user + system of the process and its
waited-for descendants (from `wait4`): on a shared machine it moves less with other people's load
than wall time does.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

SAMPLE_SECONDS = 0.02
REPO = Path(__file__).resolve().parent.parent


@dataclass
class Sample:
    """One run of one configuration."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    load_avg_before: float
    load_avg_after: float
    returncode: int
    result: dict[str, Any] = field(default_factory=dict)
    """What the process reported about itself (inner timings, row counts), see `report`."""


class MeasuredProcessFailed(Exception):
    """A measured process exited with an error; carries the end of its output."""


def run_measured(
    cmd: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 1800,
    log: Path | None = None,
) -> Sample:
    """Run `cmd` to completion and measure it.

    The process may write a JSON object to the file named by `$BENCH_RESULT` (see `report`); it
    comes back as `Sample.result`. Output goes to `log` (or is discarded).

    Raises:
        MeasuredProcessFailed: non-zero exit; the message holds the last lines of its output.
    """
    with tempfile.TemporaryDirectory(prefix="bench_") as tmp:
        result_file = Path(tmp) / "result.json"
        run_env = {**(env or os.environ), "BENCH_RESULT": str(result_file)}
        if cmd[1:3] == ["-m", "benchmarks.workers"]:  # importable from any working directory
            run_env["PYTHONPATH"] = os.pathsep.join(
                filter(None, [run_env.get("PYTHONPATH"), str(REPO)])
            )
        with open(log or os.devnull, "wb") as out:
            load_before = os.getloadavg()[0]
            started = time.perf_counter()
            proc = subprocess.Popen(cmd, env=run_env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
            sampler = _TreeSampler(proc.pid)
            sampler.start()
            try:
                _, status, usage = _wait4(proc, timeout)
            finally:
                sampler.stop()
            wall = time.perf_counter() - started
            load_after = os.getloadavg()[0]
        returncode = os.waitstatus_to_exitcode(status)
        proc.returncode = returncode
        if returncode != 0:
            tail = log.read_text(errors="replace")[-3000:] if log else ""
            raise MeasuredProcessFailed(f"{' '.join(cmd)} exited with {returncode}:\n{tail}")
        result = json.loads(result_file.read_text()) if result_file.exists() else {}
    peak = max(sampler.peak_bytes, sampler.peak_single_bytes)
    return Sample(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=peak / 2**20,
        load_avg_before=load_before,
        load_avg_after=load_after,
        returncode=returncode,
        result=result,
    )


def _wait4(proc: subprocess.Popen, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            return pid, status, usage
        if time.monotonic() > deadline:
            _kill_tree(proc.pid)
            pid, status, usage = os.wait4(proc.pid, 0)
            raise MeasuredProcessFailed(f"timed out after {timeout:.0f} s")
        time.sleep(0.01)


def _kill_tree(pid: int) -> None:
    try:
        parent = psutil.Process(pid)
        for child in parent.children(recursive=True):
            child.kill()
        parent.kill()
    except psutil.NoSuchProcess:
        pass


class _TreeSampler(threading.Thread):
    """Samples the summed RSS of a process and its descendants until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_bytes = 0
        self.peak_single_bytes = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop_event.is_set():
            total = 0
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            for proc in procs:
                try:
                    total += proc.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    continue
                self.peak_single_bytes = max(self.peak_single_bytes, _hwm_bytes(proc.pid))
            self.peak_bytes = max(self.peak_bytes, total)
            self._stop_event.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=2)


def _hwm_bytes(pid: int) -> int:
    """The kernel's peak RSS of one process since its exec (`VmHWM`), 0 if unreadable."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def report(**values: Any) -> None:
    """Called inside a measured process: hand `values` (JSON-able) back to `run_measured`."""
    path = os.environ.get("BENCH_RESULT")
    if not path:
        print(json.dumps(values, default=str))
        return
    existing = json.loads(Path(path).read_text()) if Path(path).exists() else {}
    Path(path).write_text(json.dumps({**existing, **values}, default=str))


def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(samples: list[Sample], extra_keys: list[str] = ()) -> dict[str, Any]:
    """Median and spread of the samples of one configuration (and of `extra_keys` reported by
    the process itself), plus every raw sample."""
    summary: dict[str, Any] = {
        "runs": len(samples),
        "wall_s": median([s.wall_s for s in samples]),
        "wall_s_min": min(s.wall_s for s in samples),
        "wall_s_max": max(s.wall_s for s in samples),
        "cpu_s": median([s.cpu_s for s in samples]),
        "peak_rss_mb": median([s.peak_rss_mb for s in samples]),
        "peak_rss_mb_max": max(s.peak_rss_mb for s in samples),
        "load_avg": median([(s.load_avg_before + s.load_avg_after) / 2 for s in samples]),
    }
    for key in extra_keys:
        summary[key] = median([s.result.get(key) for s in samples])
    summary["samples"] = [
        {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(s).items()}
        for s in samples
    ]
    return summary


def python_cmd(*args: str) -> list[str]:
    """`python -m benchmarks.workers <args>` with this interpreter."""
    return [sys.executable, "-m", "benchmarks.workers", *args]
