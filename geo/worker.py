"""Bounded work: run one job in a child process that a time and memory limit can stop.

The app reads and parses uploaded files, which are untrusted: a small file can unpack into a
great deal of work. Run in the server's own thread, such a job pins it beyond any timeout
(a Python thread cannot be stopped). :func:`run_bounded` runs the job in a child process
instead, forked from a small fork server that has the pipeline already imported (so a job
starts in milliseconds), with

* a wall-clock timeout, after which the child is killed;
* an address-space limit on top of what the child holds at start (``RLIMIT_AS``), so an
  allocation beyond it fails inside the child with ``MemoryError``;
* a CPU-time limit (``RLIMIT_CPU``) a little above the timeout, so the kernel stops the child
  even if its parent is gone.

Errors the job raises come back as they were (:class:`~geo.errors.GeoInputError` with its
code); going over a bound raises :class:`~geo.errors.WorkLimitError`.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import resource
import signal
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

from geo.errors import GeoInputError, WorkLimitError

__all__ = ["DEFAULT_MEMORY_MB", "DEFAULT_TIMEOUT_S", "run_bounded"]

#: Seconds a job may take.
DEFAULT_TIMEOUT_S = 120.0
#: Megabytes a job may allocate beyond what the worker holds when it starts.
DEFAULT_MEMORY_MB = 2048
# Modules the fork server imports once, so that forked jobs start with them loaded.
_PRELOAD = ["geo.pipeline", "geo.boundaries"]
_lock = threading.RLock()
_context: multiprocessing.context.BaseContext | None = None


def run_bounded(
    fn: Callable[..., Any],
    /,
    *args: Any,
    timeout: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
    **kwargs: Any,
) -> Any:
    """``fn(*args, **kwargs)`` in a child process, stopped when it goes over its bounds.

    Parameters
    ----------
    fn : callable
        A module-level function (it is sent to the child by reference); its arguments and
        result must pickle.
    *args, **kwargs
        Passed to ``fn``.
    timeout : float
        Seconds of wall-clock time before the child is killed.
    memory_mb : int
        Megabytes the child may allocate beyond its size at start.

    Returns
    -------
    Any
        What ``fn`` returned.

    Raises
    ------
    geo.errors.WorkLimitError
        Over time (``code="work.timeout"``) or memory (``code="work.memory"``), or the child
        died (``code="work.crashed"``).
    geo.errors.GeoInputError
        Whatever ``fn`` raised of this family, unchanged.
    """
    ctx = _fork_context()
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_child, args=(sender, fn, args, kwargs, memory_mb, timeout), daemon=True
    )
    _start_without_main(proc)
    sender.close()
    try:
        if not receiver.poll(timeout):
            raise WorkLimitError(
                f"处理超时（超过 {timeout:.0f} 秒），已停止；"
                "文件可能过大或已损坏，请拆分或检查后重试",
                code="work.timeout",
            )
        try:
            status, value = receiver.recv()
        except (EOFError, OSError):
            raise _died(proc) from None
    finally:
        receiver.close()
        _stop(proc)
    if status == "ok":
        return value
    raise value


def _fork_context() -> multiprocessing.context.BaseContext:
    global _context
    with _lock:
        if _context is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(_PRELOAD)
            _context = ctx
        return _context


def _start_without_main(proc: multiprocessing.process.BaseProcess) -> None:
    """Start ``proc`` without telling it our ``__main__``.

    A new process re-runs the parent's main script unless that is guarded or absent. Under
    Streamlit the main module is the app script itself, so every job would run the whole app
    again; the job only needs the function it is given, so the child gets no main module.
    """
    with _lock:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            proc.start()
        finally:
            if main is not None:
                sys.modules["__main__"] = main


def _child(sender, fn, args, kwargs, memory_mb: int, timeout: float) -> None:
    """The job's process: limits first, then the job; the outcome goes back through ``sender``."""
    _die_with_parent()
    _limit_memory(memory_mb)
    with contextlib.suppress(ValueError, OSError):
        cpu = int(timeout) + 5
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    try:
        result = ("ok", fn(*args, **kwargs))
    except GeoInputError as err:
        result = ("err", err)
    except MemoryError:
        result = ("err", _memory_error(memory_mb))
    except RecursionError:
        result = ("err", GeoInputError("文件结构嵌套过深，无法处理", code="input.too_deep"))
    except Exception as err:  # anything else: one line, never a traceback in the app
        result = ("err", GeoInputError(_unexpected(err), code="work.failed"))
    try:
        sender.send(result)
    except MemoryError:
        sender.send(("err", _memory_error(memory_mb)))
    except Exception as err:  # a result that does not pickle is a programming error
        sender.send(("err", GeoInputError(_unexpected(err), code="work.failed")))
    finally:
        sender.close()


def _limit_memory(memory_mb: int) -> None:
    """Cap the address space at the current size plus ``memory_mb``."""
    size = 0
    with contextlib.suppress(OSError), open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                size = int(line.split()[1]) * 1024
    if size:
        limit = size + memory_mb * 1024 * 1024
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _die_with_parent() -> None:
    """Ask Linux to kill this child when the fork server (its parent) ends."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


def _stop(proc: multiprocessing.process.BaseProcess) -> None:
    if proc.is_alive():
        proc.kill()
    proc.join(5)
    with contextlib.suppress(ValueError):
        proc.close()


def _died(proc: multiprocessing.process.BaseProcess) -> WorkLimitError:
    proc.join(5)
    code = proc.exitcode
    if code in (-signal.SIGXCPU, -signal.SIGKILL):
        return WorkLimitError("处理超时，已停止；请拆分文件或检查后重试", code="work.timeout")
    return WorkLimitError(
        f"处理文件的进程意外退出（代码 {code}），可能是内存不足；请拆分文件或检查后重试",
        code="work.crashed",
    )


def _memory_error(memory_mb: int) -> WorkLimitError:
    return WorkLimitError(
        f"处理所需内存超过上限（{memory_mb} MB），已停止；文件可能过大或已损坏",
        code="work.memory",
    )


def _unexpected(err: BaseException) -> str:
    text = (str(err).strip().splitlines() or [""])[0][:160]
    name = type(err).__name__
    return f"处理文件时出错（{name}{'：' + text if text else ''}）" + (
        "" if os.environ.get("GEO_DEBUG") else "；请检查文件后重试"
    )
