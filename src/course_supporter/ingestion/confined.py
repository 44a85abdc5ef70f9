"""Run a blocking parser in a child process with CPU, memory and wall-clock limits.

A thread cannot be stopped: a job timeout used to mark the job failed while the parser kept
a core busy, and a hostile file could grow the worker past its container's memory limit. A
child process can be capped (RLIMIT_AS, RLIMIT_CPU), killed on any timeout or cancellation,
and it holds no GIL the API process's requests wait for.

The pipe that brings the result back also brings progress: the child may send any number of
("progress", done, total, phase) messages before its one result, and the parent hands each to
`on_progress` as it arrives.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
import signal
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

import structlog

from course_supporter.ingestion.errors import IngestionError, RedirectPage
from course_supporter.ingestion.progress import ParseProgress

log = structlog.get_logger(__name__)

_T = TypeVar("_T")

# The forkserver forks each child from a clean, single-threaded process that has already
# imported the parsers (a fork costs milliseconds; a spawn would import them again each time,
# and forking the threaded API process itself is unsafe).
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["course_supporter.ingestion.extract"])
# Below the API process: a parse may use its core, never slow down request handling.
_CHILD_NICENESS = 10
# After a kill the child is gone within milliseconds; this only bounds a stuck reap.
_REAP_SECONDS = 5.0
# A parse that fails after using this share of its address space failed for lack of memory.
_MEMORY_BLAME_SHARE = 0.75


@dataclass(frozen=True)
class ChildLimits:
    """What one confined call may use; exceeding any of them ends the child."""

    cpu_seconds: int
    memory_bytes: int
    wall_seconds: float


async def run_confined(
    function: Callable[..., _T],
    *args: Any,
    limits: ChildLimits,
    label: str,
    on_progress: ParseProgress | None = None,
) -> _T:
    """`function(*args)` in a child process; IngestionError says which limit `label` exceeded.

    `function` and its arguments must be picklable (a module-level function); an IngestionError
    it raises comes back as itself, any other error as a RuntimeError with its traceback logged.
    With `on_progress`, the call is `function(*args, progress=…)` and each report the child
    makes reaches `on_progress` (from a thread: it must be thread-safe) while the child runs.
    """
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    process = _CONTEXT.Process(
        target=_child_main,
        args=(sender, function, args, limits, on_progress is not None),
        daemon=True,
    )
    # The first start launches the forkserver (seconds of imports): not on the event loop.
    starting = asyncio.ensure_future(asyncio.to_thread(process.start))
    try:
        await asyncio.shield(starting)
    except OSError as error:
        receiver.close()
        raise IngestionError(
            f"Could not start a process to read {label} ({error}); it will be retried",
            transient=True,
        ) from None
    except asyncio.CancelledError:
        receiver.close()
        starting.add_done_callback(lambda _: _stop(process))
        raise
    finally:
        sender.close()
    receiving = asyncio.ensure_future(asyncio.to_thread(_receive, receiver, on_progress))
    exitcode: int | None = None
    try:
        async with asyncio.timeout(limits.wall_seconds):
            outcome = await asyncio.shield(receiving)
    except TimeoutError:
        raise IngestionError(
            f"Reading {label} took longer than {limits.wall_seconds:g} s and was stopped; "
            "split it into smaller materials"
        ) from None
    finally:
        # Cancelled, timed out or done: the child must not outlive this call. Killing it ends
        # the receiving thread too (its pipe reaches end of file).
        exitcode = _stop(process)
    return _unwrap(outcome, exitcode, limits, label)  # type: ignore[no-any-return]


def _receive(receiver: Connection, on_progress: ParseProgress | None) -> tuple[Any, ...] | None:
    """The child's result message (progress handed on as it comes), or None when it died
    without sending one."""
    try:
        while True:
            message: tuple[Any, ...] = receiver.recv()
            if message[0] != "progress":
                return message
            if on_progress is not None:
                try:
                    on_progress(message[1], message[2], message[3])
                except Exception:
                    log.warning("confined_progress_not_handed_on", exc_info=True)
    except (EOFError, OSError):
        return None
    finally:
        receiver.close()


def _stop(process: BaseProcess) -> int | None:
    """Kill the child if it still runs, reap it, and return its exit code."""
    if process.pid is None:  # it never started
        return None
    if process.is_alive():
        process.kill()
    process.join(_REAP_SECONDS)
    exitcode = process.exitcode
    if exitcode is not None:
        process.close()
    return exitcode


def _unwrap(
    outcome: tuple[Any, ...] | None, exitcode: int | None, limits: ChildLimits, label: str
) -> Any:
    """The child's result, or the error that explains why there is none."""
    memory_mb = limits.memory_bytes / 2**20
    if outcome is None:
        if exitcode == -signal.SIGXCPU:
            raise IngestionError(
                f"Reading {label} took more than {limits.cpu_seconds} s of CPU time and was "
                "stopped; split it into smaller materials"
            )
        # SIGKILL: the kernel's out-of-memory killer; SIGSEGV, SIGABRT: a C parser gave up.
        raise IngestionError(
            f"Reading {label} stopped the parser (exit code {exitcode}), which happens when it "
            f"needs more than {memory_mb:,.0f} MB of memory or the file is damaged; "
            "export it again or split it"
        )
    kind = outcome[0]
    if kind == "ok":
        return outcome[1]
    if kind == "error":
        raise IngestionError(outcome[1], transient=outcome[2])
    if kind == "redirect":
        raise RedirectPage(outcome[1], outcome[2])
    if kind == "memory":
        raise IngestionError(
            f"Reading {label} needs more than {memory_mb:,.0f} MB of memory; "
            "split it into smaller materials"
        )
    log.error("confined_crashed", label=label, error=outcome[1], traceback=outcome[2])
    raise RuntimeError(f"Reading {label} failed: {outcome[1]}")


def _child_main(
    sender: Connection,
    function: Callable[..., Any],
    args: tuple[Any, ...],
    limits: ChildLimits,
    reports_progress: bool,
) -> None:
    """In the child: cap this process, run the call (its progress reports sent up the pipe as
    they come) and send back one result message."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # The soft limit raises SIGXCPU (ends the process); the hard one is the kernel's SIGKILL.
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 2))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    os.nice(_CHILD_NICENESS)

    def send_progress(done: int, total: int | None, phase: str) -> None:
        sender.send(("progress", done, total, phase))

    keywords = {"progress": send_progress} if reports_progress else {}
    message: tuple[Any, ...]
    try:
        message = ("ok", function(*args, **keywords))
    except MemoryError:
        message = ("memory",)
    except Exception as error:
        if _peak_memory_bytes() >= _MEMORY_BLAME_SHARE * limits.memory_bytes:
            # C parsers report a failed allocation as a parse error (lxml: "unknown error").
            message = ("memory",)
        elif isinstance(error, RedirectPage):
            message = ("redirect", error.message, error.target)
        elif isinstance(error, IngestionError):
            message = ("error", error.message, error.transient)
        else:
            message = ("crash", f"{type(error).__name__}: {error}", traceback.format_exc())
    try:
        sender.send(message)
    except MemoryError:
        sender.send(("memory",))
    finally:
        sender.close()


def _peak_memory_bytes() -> int:
    """The most address space this process has held (VmPeak), 0 where /proc does not say."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
