"""Response streams that pass every chunk to the app unchanged and show it to capture.

One sync and one async twin, made for each httpx-compatible module (``httpx``, ``httpx2``)
so that they are that module's ``SyncByteStream``/``AsyncByteStream``. Nothing is read ahead:
a chunk is seen when the app pulls it. The call ends when the body is read to its end, when
the stream is closed, or when the stream is garbage-collected unread (abandoned).
"""

from __future__ import annotations

import functools
import weakref
from types import ModuleType
from typing import Any

from ai_incidents.capture.call import LLMCall


@functools.cache
def tee_stream_types(module: ModuleType) -> tuple[type, type]:
    """The (sync, async) tee stream classes for ``module``."""

    class SyncTeeStream(module.SyncByteStream):  # type: ignore[name-defined,misc]
        def __init__(self, inner: Any, call: LLMCall) -> None:
            self._inner = inner
            self._call = call
            weakref.finalize(self, call.finish, True)

        def __iter__(self) -> Any:
            call = self._call
            try:
                for chunk in self._inner:
                    call.feed(chunk)
                    yield chunk
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
        def __init__(self, inner: Any, call: LLMCall) -> None:
            self._inner = inner
            self._call = call
            weakref.finalize(self, call.finish, True)

        async def __aiter__(self) -> Any:
            call = self._call
            try:
                async for chunk in self._inner:
                    call.feed(chunk)
                    yield chunk
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
