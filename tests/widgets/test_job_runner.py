"""The job runner with real Qt and real threads: order of reports, cancellation, failures with
their traceback, one job per owner, join on close, no thread left behind."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtWidgets import QWidget

from app.backend.errors import DatasetError
from app.widgets.job_runner import JobRunner, TaskState, describe_exception, failure_text


class Recorder:
    """Everything a runner emits, in order, as (signal name, args)."""

    def __init__(self, runner: JobRunner) -> None:
        self.events: list[tuple] = []
        runner.progress.connect(self.on_progress)
        runner.partial.connect(self.on_partial)
        runner.result.connect(self.on_result)
        runner.failed.connect(self.on_failed)
        runner.finished.connect(self.on_finished)

    def on_progress(self, fraction: float, text: str) -> None:
        self.events.append(("progress", fraction, text))

    def on_partial(self, value) -> None:
        self.events.append(("partial", value))

    def on_result(self, value) -> None:
        self.events.append(("result", value))

    def on_failed(self, message: str, details: str) -> None:
        self.events.append(("failed", message, details))

    def on_finished(self) -> None:
        self.events.append(("finished",))

    def kinds(self) -> list[str]:
        return [e[0] for e in self.events]


def _threads(prefix: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(prefix + "-")]


@pytest.fixture
def owner(qtbot) -> QWidget:
    w = QWidget()
    qtbot.addWidget(w)
    return w


def counting_job(state: TaskState, n: int) -> str:
    worker = threading.current_thread().name
    for i in range(n + 1):
        state.set_progress(i / n, f"step {i}/{n}")
        state.set_partial_result(i)
    return worker


def test_reports_arrive_in_order_on_the_gui_thread_and_finished_is_last(qtbot, owner) -> None:
    runner = JobRunner(owner, name="order")
    rec = Recorder(runner)
    with qtbot.waitSignal(runner.finished, timeout=10_000):
        assert runner.start(counting_job, 50)
        assert runner.is_running()
    assert not runner.is_running()
    assert rec.kinds()[-2:] == ["result", "finished"] and rec.kinds().count("finished") == 1
    assert rec.events[-2][1].startswith("order-")  # the job ran on the runner's worker thread
    assert [e[1] for e in rec.events if e[0] == "partial"] == list(range(51))  # partials are never dropped
    progress = [e[1] for e in rec.events if e[0] == "progress"]
    assert progress[0] == 0.0 and progress[-1] == 1.0 and progress == sorted(progress)
    last_progress = max(i for i, k in enumerate(rec.kinds()) if k == "progress")
    assert rec.events[last_progress][2] == "step 50/50" and last_progress < rec.kinds().index("result")
    assert not _threads("order")


def test_progress_is_throttled_but_the_first_and_the_last_get_through() -> None:
    sent: list[tuple] = []
    state = TaskState(lambda kind, value: sent.append(value), progress_interval_s=3600)
    for i in range(1001):
        state.set_progress(i / 1000, str(i))
    assert sent == [(0.0, "0"), (1.0, "1000")]


def test_a_bug_fails_with_its_traceback_a_user_error_with_one_line(qtbot, owner) -> None:
    def buggy(state: TaskState) -> None:
        state.set_progress(0.5, "half")
        return {}["missing"]

    def bad_file(state: TaskState) -> None:
        raise DatasetError("train.json: malformed JSON at line 3")

    runner = JobRunner(owner, name="fail")
    rec = Recorder(runner)
    with qtbot.waitSignal(runner.finished, timeout=10_000):
        runner.start(buggy)
    assert rec.kinds() == ["progress", "failed", "finished"]
    _, message, details = rec.events[1]
    assert message == "KeyError: 'missing'"
    assert details.startswith("Traceback") and "in buggy" in details and details.strip().endswith("KeyError: 'missing'")
    rec.events.clear()
    with qtbot.waitSignal(runner.finished, timeout=10_000):
        runner.start(bad_file)
    assert rec.events[:1] == [("failed", "train.json: malformed JSON at line 3", "")]
    assert failure_text("cannot open", *describe_exception(DatasetError("bad"))) == "cannot open: bad"
    banner = failure_text("cannot open", message, details)
    assert banner.startswith("cannot open: KeyError: 'missing'\n") and "in buggy" in banner and "Traceback" not in banner


def test_cancel_is_cooperative_and_the_job_decides_what_it_returns(qtbot, owner) -> None:
    started = threading.Event()

    def until_cancelled(state: TaskState) -> str:
        started.set()
        while not state.cancelled:
            time.sleep(0.005)
        return "stopped early"

    def raises_when_cancelled(state: TaskState) -> str:
        started.set()
        while True:
            state.raise_if_cancelled()
            time.sleep(0.005)

    runner = JobRunner(owner, name="cancel")
    rec = Recorder(runner)
    for job in (until_cancelled, raises_when_cancelled):
        started.clear()
        with qtbot.waitSignal(runner.finished, timeout=10_000):
            runner.start(job)
            assert started.wait(10)
            runner.cancel()
    assert rec.events == [("result", "stopped early"), ("finished",), ("finished",)]
    assert not _threads("cancel")


def test_one_job_per_owner_refused_while_running(qtbot, owner) -> None:
    release = threading.Event()

    def blocked(state: TaskState, tag: str) -> str:
        release.wait(10)
        return tag

    runner = JobRunner(owner, name="refuse")
    rec = Recorder(runner)
    assert runner.start(blocked, "first")
    assert not runner.start(blocked, "second")  # refused: the first keeps running
    release.set()
    qtbot.waitUntil(lambda: not runner.is_running(), timeout=10_000)
    assert rec.events == [("result", "first"), ("finished",)]
    with qtbot.waitSignal(runner.finished, timeout=10_000):
        assert runner.start(blocked, "second")
    assert rec.events[-2] == ("result", "second")


def test_replace_cancels_the_running_job_drops_its_reports_and_runs_the_next_after_it(qtbot, owner) -> None:
    order: list[str] = []
    started = threading.Event()

    def slow(state: TaskState, tag: str) -> str:
        order.append(f"{tag} start")
        started.set()
        while not state.cancelled:
            state.set_partial_result(tag)
            time.sleep(0.005)
        time.sleep(0.05)  # still busy after the cancel: the next job must wait for it
        order.append(f"{tag} end")
        return tag

    def quick(state: TaskState, tag: str) -> str:
        order.append(f"{tag} start")
        return tag

    runner = JobRunner(owner, replace=True, name="replace")
    rec = Recorder(runner)
    assert runner.start(slow, "old")
    assert started.wait(10)
    with qtbot.waitSignal(runner.finished, timeout=10_000):
        assert runner.start(quick, "new")
    qtbot.wait(100)  # anything the old job still had queued would arrive now
    assert order == ["old start", "old end", "new start"]
    assert ("result", "old") not in rec.events and rec.events[-2:] == [("result", "new"), ("finished",)]
    assert rec.kinds().count("finished") == 1
    assert not _threads("replace")


def test_shutdown_cancels_and_joins_and_the_owner_may_go_first(qtbot) -> None:
    owner = QWidget()
    runner = JobRunner(owner, name="close")
    seen_cancel = threading.Event()

    def until_cancelled(state: TaskState) -> None:
        while not state.cancelled:
            time.sleep(0.005)
        time.sleep(0.05)
        seen_cancel.set()

    runner.start(until_cancelled)
    assert runner.shutdown(timeout_s=10)
    assert seen_cancel.is_set() and not _threads("close") and not runner.is_running()

    # an owner destroyed while its job still reports: the reports go nowhere, nothing crashes
    def chatty(state: TaskState) -> str:
        for i in range(20):
            state.set_partial_result(i)
            time.sleep(0.005)
        return "done"

    runner.start(chatty)
    owner.deleteLater()
    qtbot.wait(50)
    qtbot.waitUntil(lambda: not _threads("close"), timeout=10_000)
    qtbot.wait(50)


def test_no_thread_is_left_behind_after_many_jobs(qtbot, owner) -> None:
    runner = JobRunner(owner, replace=True, name="leak")
    before = threading.active_count()
    for i in range(30):
        runner.start(counting_job, 3)
        if i % 3 == 0:
            runner.discard()
    with qtbot.waitSignal(runner.finished, timeout=10_000):
        runner.start(counting_job, 3)
    qtbot.waitUntil(lambda: not _threads("leak"), timeout=10_000)
    assert threading.active_count() <= before
