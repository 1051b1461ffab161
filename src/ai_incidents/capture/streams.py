"""Response streams that pass every chunk to the app unchanged and show it to capture.

One sync and one async twin, made for each httpx-compatible module (``httpx``, ``httpx2``)
so that they are that module's ``SyncByteStream``/``AsyncByteStream``. Nothing is read ahead:
a chunk is seen when the app pulls it. The call ends when the body is read to its end, when
the stream is closed, or when the stream is garbage-collected unread (abandoned).
"""

from __future__ import annotations

import atexit
import functools
import os
import queue
import threading
import weakref
from types import ModuleType
from typing import Any

from ai_incidents.capture.call import LLMCall

# Streams collected unread are finished off the garbage collector's thread: finishing runs
# evaluators and span processors, which must not run inside a collection (locks held by the
# interrupted code could deadlock them). ``SimpleQueue.put`` is safe to call there.
_abandoned: queue.SimpleQueue[LLMCall] = queue.SimpleQueue()
_lock = threading.Lock()
_finisher_pid: int | None = None
"""The process whose finisher thread runs: a forked child starts its own."""
_open_streams: weakref.WeakSet[Any] = weakref.WeakSet()
_exiting = False


def _finish_abandoned() -> None:
    while True:
        _abandoned.get().finish(True)


def _finish_at_exit() -> None:
    """At exit, finish what is queued and every stream still open, on this thread (no thread
    can start now), before the SDK's own exit hook, registered earlier, shuts it down."""
    global _exiting
    _exiting = True
    while True:
        try:
            _abandoned.get_nowait().finish(True)
        except queue.Empty:
            break
    for stream in list(_open_streams):
        stream._call.finish(True)


def _track(stream: Any, call: LLMCall) -> None:
    """Finish ``call`` when ``stream`` is collected unread, or at exit if it is still open."""
    global _finisher_pid
    weakref.finalize(stream, _on_collected, call).atexit = False
    _open_streams.add(stream)
    if _finisher_pid != os.getpid():
        with _lock:
            if _finisher_pid != os.getpid():
                if _finisher_pid is None:
                    atexit.register(_finish_at_exit)
                threading.Thread(
                    target=_finish_abandoned, name="ai-incidents-abandoned", daemon=True
                ).start()
                _finisher_pid = os.getpid()


def _on_collected(call: LLMCall) -> None:
    """``weakref.finalize`` callback: hand the call to the finisher thread."""
    if _exiting:
        call.finish(True)
    else:
        _abandoned.put(call)


@functools.cache
def tee_stream_types(module: ModuleType) -> tuple[type, type]:
    """The (sync, async) tee stream classes for ``module``."""

    class SyncTeeStream(module.SyncByteStream):  # type: ignore[name-defined,misc]
        def __init__(self, inner: Any, call: LLMCall, redactor: Any = None) -> None:
            self._inner = inner
            self._call = call
            self._redactor = redactor
            _track(self, call)

        def __iter__(self) -> Any:
            call, redactor = self._call, self._redactor
            try:
                for chunk in self._inner:
                    call.feed(chunk)
                    if redactor is None:
                        yield chunk
                    elif out := redactor.feed(chunk):
                        yield out
                if redactor is not None and (rest := redactor.finish()):
                    yield rest
            except GeneratorExit:
                raise
            except BaseException as exc:
                call.fail(exc)
                raise
            call.end_of_body()

        def close(self) -> None:
            try:
                self._inner.close()
            finally:
                self._call.finish(True)

    class AsyncTeeStream(module.AsyncByteStream):  # type: ignore[name-defined,misc]
        def __init__(self, inner: Any, call: LLMCall, redactor: Any = None) -> None:
            self._inner = inner
            self._call = call
            self._redactor = redactor
            _track(self, call)

        async def __aiter__(self) -> Any:
            call, redactor = self._call, self._redactor
            try:
                async for chunk in self._inner:
                    call.feed(chunk)
                    if redactor is None:
                        yield chunk
                    elif out := redactor.feed(chunk):
                        yield out
                if redactor is not None and (rest := redactor.finish()):
                    yield rest
            except GeneratorExit:
                raise
            except BaseException as exc:
                call.fail(exc)
                raise
            call.end_of_body()

        async def aclose(self) -> None:
            try:
                await self._inner.aclose()
            finally:
                self._call.finish(True)

    return SyncTeeStream, AsyncTeeStream
