"""Every malformed input of the generated corpus (tests/faults/corpus.py) is one clear error.

Clear means: the CLI run in-process (``main(argv)``) returns 2 with exactly one ``error:`` line
on stderr (``validate-dataset`` may instead print its problem list and return 1), a project
file is one single-line :class:`ProjectError`, no input file changes, no code in a file runs,
and no traceback escapes. A mutation of a valid file may still be valid (exit 0). The peak
resident memory of each case is measured (VmHWM, reset before the case); pytest's summary
ends with the counts (tests/faults/conftest.py). A handful of the largest-declared inputs also run as real
subprocesses, whose peak RSS is polled from ``/proc``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

import pytest

from app.cli import main
from tests.faults.corpus import REPO, RESULTS, Case, build_corpus

CASES = build_corpus()
BY_ID = {c.id: c for c in CASES}
#: Peak RSS a malformed input (all are < 100 MB) may add to what the app held before (whole
#: process for the subprocess cases).
MAX_PEAK_BYTES = 2 << 30
#: Inputs that declare the most memory, rerun as subprocesses.
SUBPROCESS_IDS = ["csi-npz-bomb", "csi-mat-compressed-huge", "config-aliases", "dataset-deep", "weights-pth-zip-bomb"]


def _status_bytes(field: str) -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _reset_peak() -> int:
    """Reset VmHWM to the current RSS (Linux >= 4.0); returns that RSS."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    return _status_bytes("VmRSS")


def _poll_peak(proc: subprocess.Popen, timeout_s: float = 240) -> int:
    """The child's peak RSS: its VmHWM, read every 10 ms until it ends (ru_maxrss would count the
    pytest process it was forked from). A peak in its last 10 ms could be missed."""
    peak, deadline = 0, time.monotonic() + timeout_s
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) * 1024)
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            proc.kill()
        time.sleep(0.01)
    return peak


def _snapshot(folder: Path) -> dict[str, str]:
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and "out" not in p.relative_to(folder).parts:
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture
def counts() -> dict[str, tuple[str, int, int]]:
    """Where each case leaves (outcome, peak RSS, peak above the RSS before); conftest.py prints the counts."""
    return RESULTS


def _drop_stale_log_handlers() -> None:
    """Remove log handlers left on the closed stderr of an earlier in-process run (a test artefact:
    each ``main.py`` process has one stderr), so their '--- Logging error ---' is not taken for ours."""
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        for handler in list(getattr(logger, "handlers", [])):
            if getattr(getattr(handler, "stream", None), "closed", False):
                logger.removeHandler(handler)


def _run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """(outcome, detail): clear | problems | accepted | traceback | unclear."""
    _drop_stale_log_handlers()
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    except Exception:  # an escaped exception is what this suite looks for
        return "traceback", traceback.format_exc(limit=-3)
    out, err = capsys.readouterr()
    error_lines = [line for line in err.splitlines() if line.startswith("error:")]
    if "Traceback" in err:
        return "traceback", err[-2000:]
    if code == 2 and len(error_lines) == 1 and len(error_lines[0]) < 800:
        return "clear", error_lines[0]
    if code == 1 and argv[0] == "validate-dataset" and out.strip() and not error_lines:
        return "problems", out.strip().splitlines()[0]
    if code == 0:
        return "accepted", out[-300:]
    return "unclear", f"exit {code}: stderr {err[-1500:]!r}"


def _load_project(folder: str) -> tuple[str, str]:
    from app.ui.shell.project import Project, ProjectError

    try:
        Project.load(folder)
    except ProjectError as exc:
        text = str(exc)
        return ("clear" if "\n" not in text and len(text) < 800 else "unclear"), text
    except Exception:
        return "traceback", traceback.format_exc(limit=-3)
    return "accepted", ""


def test_the_corpus_has_at_least_200_inputs_of_every_type() -> None:
    kinds = {c.kind for c in CASES}
    assert len(CASES) >= 200 and kinds == {"config", "dataset", "csi", "weights", "project"}
    assert all(c.id in BY_ID for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_malformed_input_is_one_clear_error(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, counts: dict
) -> None:
    monkeypatch.chdir(tmp_path)  # a pickle that runs code would leave PWNED here
    argv = case.make(tmp_path)
    before = _snapshot(tmp_path)
    base = _reset_peak()
    outcome, detail = _load_project(argv[1]) if argv[0] == "project" else _run_cli(argv, capsys)
    peak = _status_bytes("VmHWM")
    counts[case.id] = (outcome, peak, peak - base)
    assert not (tmp_path / "PWNED").exists() and not Path("/tmp/pwned").exists(), "a file ran code"
    assert _snapshot(tmp_path) == before, "an input file was changed"
    assert outcome != "traceback", detail
    assert outcome != "unclear", detail
    assert outcome != "accepted" or case.may_pass, f"accepted a malformed input: {detail}"
    assert peak - base < MAX_PEAK_BYTES, f"peak RSS {peak / 2**30:.1f} GiB"


@pytest.mark.parametrize("case_id", SUBPROCESS_IDS)
def test_a_malformed_input_in_a_real_process(case_id: str, tmp_path: Path, counts: dict) -> None:
    argv = BY_ID[case_id].make(tmp_path)
    before = _snapshot(tmp_path)
    log = tmp_path / "out"
    log.mkdir()
    with open(log / "stderr", "wb") as err_file, open(log / "stdout", "wb") as out_file:
        proc = subprocess.Popen([sys.executable, str(REPO / "main.py"), *argv], cwd=tmp_path, stdout=out_file,
                                stderr=err_file, env={**os.environ, "OMP_NUM_THREADS": "1"})
        peak = _poll_peak(proc)
    code = proc.returncode
    text = (log / "stderr").read_text("utf-8", "replace")
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    problems = argv[0] == "validate-dataset" and code == 1 and not errors and (log / "stdout").stat().st_size > 0
    counts[f"{case_id} (subprocess)"] = ("problems" if problems else "clear" if code == 2 else "unclear", peak, peak)
    assert "Traceback" not in text, text[-2000:]
    assert problems or (code == 2 and len(errors) == 1), f"exit {code}: {text[-2000:]}"
    assert _snapshot(tmp_path) == before
    assert peak < MAX_PEAK_BYTES, f"{case_id}: peak RSS {peak / 2**20:.0f} MiB"
