"""Helper processes: a large feed's work that needs no database, spread over the machine's cores.

    main process: database, Splink, decisions, writes ◄──── chunks ──── reader: reads, validates and keys the
         │                                                              next batch (prepare.chunks) while this
         │ open / views / create (work.Worker), each child                one is matched and written
         ▼ always to the same worker
    workers 1..n: decrypt, profile, build the best view, seal, index

One Python process runs one core at a time, and at a million records the pipeline's own Python work was most of a
feed's time while the second core sat idle (docs/benchmarks.md). Small feeds (the demo, the API's typical
request, tests) do the same work in the main process (a ``work.Worker`` of its own): the results are the same
either way.

Helpers are started fresh ("spawn"): they inherit no database connection, thread or key ring. Each is given only
what it needs: the reader the feed's bytes and the keyed hashes' keys; the workers those keys and, with each
child's work, that child's data key. Nothing is written to disk; results come back over pipes. An error in a helper
is raised in the main process as ``IngestProcessFailed`` without the helper's message (which could quote a value),
so the
batch's transaction rolls back and running the feed again completes it.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

import pyarrow as pa

from contactpoint.errors import FeedRejected, IngestProcessFailed
from contactpoint.ingest.prepare import Chunk, FeedData, ReadFile, chunks, read_whole, size_of
from contactpoint.ingest.work import IndexKeys, LoadJob, NewJob, OpenJob, Origin, View, ViewJob, Worker


def _context():
    return multiprocessing.get_context("spawn")


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Python's cyclic garbage collector, quieter while a feed runs. A batch makes millions of short-lived
    objects, nearly all without cycles (reference counting frees them), and at the default thresholds the
    collector ran hundreds of times a batch, each time walking what the process keeps (caches, the run's opened
    children): 15 % of a 10,000-record delta. What the process held before the run is frozen out of those walks
    and the youngest generation is collected every 100,000 allocations instead of 700; both are put back
    afterwards."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


# glibc's malloc_trim, looked up once (not on every batch); None where the C library has none (musl, macOS).
_MALLOC_TRIM = getattr(ctypes.CDLL(None), "malloc_trim", None) if sys.platform.startswith("linux") else None


def give_back_memory() -> None:
    """Free what a batch left and hand it back to the system, so that the next batch reuses pages rather than
    adding to them: a batch's cycles (the collector is held back, ``fewer_collections``), Arrow's pool (it keeps
    freed buffers for reuse) and glibc's heap (``malloc_trim``: a long feed's many small frees left its arenas
    holding pages, and the main process's resident memory crept up from batch to batch)."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _failure(error: BaseException) -> tuple[str, str]:
    """What may leave a helper about an error: its type and where it happened, never its message."""
    frames = traceback.extract_tb(error.__traceback__)
    where = " < ".join(f"{f.name} ({f.filename.rsplit('/', 1)[-1]}:{f.lineno})" for f in reversed(frames[-4:]))
    return ("error", f"{type(error).__name__} in {where}")


_PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when the thread that started it ends


def _die_with_parent(parent: int) -> None:
    """A helper's first step: Ctrl-C is for the main process (``parent``), which closes the pipes, and the helpers
    then stop; and the helper ends when the main process ends, however it ends. A pipe only tells a helper that
    waits on it: a load's readers each read a whole file before they say anything, so a load stopped by SIGTERM or
    SIGKILL (or the kernel, for memory) left them reading on for as long as the file lasted, beside the load that
    resumed (seen in the benchmarks). Linux only; elsewhere the pipes alone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the main process ended before the request above was made
        os._exit(1)


def _helper(serve, conn, parent: int, *args: Any) -> None:
    """A helper process's life around ``serve`` (``_die_with_parent`` first). An error that escapes ``serve`` is
    reported like any other (``_failure``) and never printed: multiprocessing would print its traceback to stderr,
    and a traceback can quote a value (the message of an exception being handled when it happened, such as a
    validator's)."""
    _die_with_parent(parent)
    gc.set_threshold(100_000, 50, 100)  # see fewer_collections
    try:
        serve(conn, *args)
    except BaseException as error:  # noqa: BLE001 - see above
        try:
            conn.send(_failure(error))
        except BaseException:  # noqa: BLE001, S110 - the main process may be gone: nothing else to tell
            pass
        os._exit(1)


# --- workers ----------------------------------------------------------------------------------------------------

def _serve_worker(conn, keys: IndexKeys, origin: Origin) -> None:
    worker = Worker(keys, origin)
    try:
        while (message := conn.recv()) is not None:
            method, jobs = message
            try:
                answer = ("ok", getattr(worker, method)(jobs))
            except Exception as error:  # noqa: BLE001 - reported without its message (see _failure)
                answer = _failure(error)
            conn.send(answer)
    except (EOFError, OSError):
        return  # the main process has gone (finished, or was killed): so do we


class Workers:
    """``count`` worker processes. Each child goes to worker ``child ID % count``, so ``views`` finds what
    ``open`` kept for it."""

    def __init__(self, count: int, keys: IndexKeys, origin: Origin) -> None:
        context = _context()
        self._conns = []
        self._procs = []
        try:
            for n in range(count):
                parent, child = context.Pipe()
                proc = context.Process(target=_helper, args=(_serve_worker, child, os.getpid(), keys, origin),
                                       daemon=True, name=f"contactpoint-feed-worker-{n}")
                self._conns.append(parent)
                proc.start()
                self._procs.append(proc)
                child.close()
        except BaseException:
            self.close()  # the workers that did start are not left waiting for work
            raise

    def _send(self, method: str, jobs: Sequence[Any], ids: Sequence[int]) -> list[list[int]]:
        """Send each worker its share of ``jobs`` (by child ID); the positions of each worker's jobs in ``jobs``."""
        count = len(self._conns)
        shares: list[list[Any]] = [[] for _ in range(count)]
        positions: list[list[int]] = [[] for _ in range(count)]
        for position, (job, child_id) in enumerate(zip(jobs, ids, strict=True)):
            shares[child_id % count].append(job)
            positions[child_id % count].append(position)
        try:
            for conn, share in zip(self._conns, shares, strict=True):
                conn.send((method, share))
        except OSError:
            raise IngestProcessFailed(f"a worker stopped before '{method}'") from None
        return positions

    def _gather(self, method: str) -> list[Any]:
        """Each worker's answer to what ``_send`` sent it, one list per worker."""
        answers, failure = [], None
        for conn in self._conns:  # every answer is read, so that none is left to be taken for the next call's
            try:
                status, answer = conn.recv()
            except Exception:  # noqa: BLE001 - gone, or an answer that cannot be read: its text is not passed on
                failure = failure or f"a worker stopped during '{method}'"
                continue
            if status != "ok":
                failure = failure or answer
            answers.append(answer)
        if failure is not None:
            raise IngestProcessFailed(failure)
        return answers

    def _scatter(self, method: str, jobs: Sequence[Any], ids: Sequence[int]) -> tuple[list[Any], list[list[int]]]:
        positions = self._send(method, jobs, ids)
        return self._gather(method), positions

    @staticmethod
    def _ordered(count: int, answers: list[Any], positions: list[list[int]]) -> list[Any]:
        out: list[Any] = [None] * count
        for answer, places in zip(answers, positions, strict=True):
            for place, result in zip(places, answer, strict=True):
                out[place] = result
        return out

    def _in_order(self, method: str, jobs: Sequence[Any], ids: Sequence[int]) -> list[Any]:
        answers, positions = self._scatter(method, jobs, ids)
        return self._ordered(len(jobs), answers, positions)

    def open(self, jobs: Sequence[OpenJob], *, more: bool = False) -> dict[int, list[tuple[str, tuple]]]:
        """``more``: keep what the batch opened already (``Worker.open_more``)."""
        answers, _ = self._scatter("open_more" if more else "open", jobs, [j.child_id for j in jobs])
        return {child_id: found for answer in answers for child_id, found in answer.items()}

    def views(self, jobs: Sequence[ViewJob]) -> list[View | None]:
        return self._in_order("views", jobs, [j.child_id for j in jobs])

    def create(self, jobs: Sequence[NewJob]) -> list[View]:
        return self._in_order("create", jobs, range(len(jobs)))  # a new child has nothing kept: any worker will do

    def load(self, jobs: Sequence[LoadJob]) -> list[tuple[View, list[bytes]]]:
        return self._in_order("load", jobs, range(len(jobs)))  # new children: any worker will do

    def load_later(self, jobs: Sequence[LoadJob]) -> Callable[[], list[tuple[View, list[bytes]]]]:
        """Start ``load`` and return at once; the function returned waits for its answers. The load writes one
        batch to the database while the workers seal the next. Nothing else may be sent to the workers until
        the answers are taken."""
        positions = self._send("load", jobs, range(len(jobs)))
        return lambda: self._ordered(len(jobs), self._gather("load"), positions)

    def close(self) -> None:
        for conn in self._conns:
            try:
                conn.send(None)
                conn.close()
            except OSError:
                pass
        for proc in self._procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()


# --- the reader ---------------------------------------------------------------------------------------------------

def _serve_reader(conn, data: FeedData, keys: IndexKeys, source_kind: str, options: dict[str, Any]) -> None:
    try:
        try:
            for chunk in chunks(data, keyring=keys, **options):
                for entry in chunk.entries:  # worked out here, in parallel, for whichever records turn out new
                    entry.lookup(keys)
                    entry.match_profile(source_kind)
                    entry.row = None  # the workers read the payload: no need to send the row twice
                conn.send(("chunk", chunk))
            conn.send(("done", None))
        except (BrokenPipeError, EOFError):
            return  # the main process has gone (finished early, or was killed): so do we
        except Exception as error:  # noqa: BLE001
            conn.send(("refused", error.message) if isinstance(error, FeedRejected) else _failure(error))
    except OSError:
        return
    finally:
        conn.close()


class Reader:
    """``prepare.chunks`` in a helper process, one batch ahead of the caller. Given a file's path, it reads the
    file itself (nothing of it passes through the caller); given bytes, it is sent a copy."""

    def __init__(self, data: FeedData, *, keys: IndexKeys, source_kind: str, **options: Any) -> None:
        context = _context()
        self._conn, child = context.Pipe(duplex=False)
        self._proc = context.Process(
            target=_helper, args=(_serve_reader, child, os.getpid(), data, keys, source_kind, options), daemon=True,
            name="contactpoint-feed-reader")
        self._proc.start()
        child.close()

    def __iter__(self) -> Iterator[Chunk]:
        while True:
            try:
                kind, payload = self._conn.recv()
            except Exception:  # noqa: BLE001 - gone, or a message that cannot be read: its text is not passed on
                raise IngestProcessFailed("the reader stopped") from None
            if kind == "chunk":
                yield payload
            elif kind == "done":
                return
            elif kind == "refused":
                raise FeedRejected(payload)
            else:
                raise IngestProcessFailed(payload)

    def close(self) -> None:
        self._conn.close()
        self._proc.join(timeout=10)
        if self._proc.is_alive():
            self._proc.kill()


# --- a first load's readers -------------------------------------------------------------------------------------

def _read_one(task: tuple[FeedData, dict[str, Any]]) -> tuple[str, Any]:
    data, options = task
    try:
        # With the collector at its defaults, each full collection walked all a helper held, which grows with
        # its file (the keys seen, the problems found): the GP file of 3 million records took x3.26 the time
        # of 1 million's for x3 the rows, and x3.06 with the collector held back as the feeds' workers hold it.
        with fewer_collections():
            return ("ok", read_whole(data, **options))
    except FeedRejected as refused:
        return ("refused", refused.message)
    except Exception as error:  # noqa: BLE001 - reported without its message (see _failure)
        return _failure(error)


def read_files(tasks: Sequence[tuple[FeedData, dict[str, Any]]], count: int) -> Iterator[tuple[int, ReadFile]]:
    """Each file of a first load read whole (``prepare.read_whole``: the options give format, keys, source), in
    ``count`` helper processes, a file each at a time, largest first; yields (position in ``tasks``, what was
    read) as each is done. A file refused whole raises ``FeedRejected``; an error in a helper
    ``IngestProcessFailed`` without its message."""
    order = sorted(range(len(tasks)), key=lambda n: -size_of(tasks[n][0]))
    pool = None
    if count <= 1 or len(tasks) <= 1:
        outcomes: Iterator[tuple[str, Any]] = (_read_one(tasks[n]) for n in order)
    else:
        # concurrent.futures, not multiprocessing.Pool: a helper that dies (killed for memory) fails the load with
        # BrokenProcessPool where a Pool would wait for its answer for ever.
        pool = ProcessPoolExecutor(min(count, len(tasks)), mp_context=_context(), initializer=_die_with_parent,
                                   initargs=(os.getpid(),))
        outcomes = pool.map(_read_one, [tasks[n] for n in order])
    try:
        for n, (status, answer) in zip(order, outcomes, strict=True):
            if status == "refused":
                raise FeedRejected(answer)
            if status != "ok":
                raise IngestProcessFailed(answer)
            yield n, answer
    except BrokenProcessPool:
        raise IngestProcessFailed("a reader stopped") from None
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def start(count: int, *, keys: Any, origin: Origin) -> Worker | Workers:
    return Workers(count, IndexKeys.of(keys), origin) if count > 1 else Worker(keys, origin)


__all__ = ["Reader", "Workers", "fewer_collections", "give_back_memory", "read_files", "start"]
