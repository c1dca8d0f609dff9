"""Every mutable field of one open StateFile, each with the invariant it keeps.

The engine's parts (``_rollback``, ``_group_commit``, ``_lock_hold``, ``_freshness``,
``_transactions``) read and write only this object, always with :attr:`EngineState.mutex`
held unless a field says otherwise. After ``fork`` one function, :func:`reset_after_fork`,
puts a child's copy in order (docs/design.md, "Threads, processes and fork").
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._schema import Schema

if TYPE_CHECKING:
    from ._changes import ChangeEvent
    from ._store import EngineStore, Snapshot

__all__ = ["UNKNOWN", "Batch", "DiskId", "EngineState", "Part", "Ticket", "holds",
           "reset_after_fork"]

DiskId = tuple[int, int, int, int]
"""``(st_dev, st_ino, st_size, st_mtime_ns)`` of the state file: what an editor's save changes."""


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()
"""``EngineState.disk`` when what the store holds is not known (a write whose outcome is
unknown): the next lock reads the document whole, and merges it."""


class Batch:
    """The commits one write carries; their threads sleep on its condition, so that the end
    of one write wakes exactly the threads it concerns."""

    __slots__ = ("cond",)

    def __init__(self, mutex: threading.RLock) -> None:
        self.cond = threading.Condition(mutex)


@dataclass
class Ticket:
    """One queued commit: the batch it is written with, and how that write ended."""

    batch: Batch
    done: bool = False
    error: BaseException | None = None
    #: Applied without the lock, to the version memory held: a conflict replays it.
    unlocked: bool = False


def holds(cond: threading.Condition) -> bool:
    """Whether the calling thread holds ``cond``'s lock.

    ``notify(0)`` wakes nobody and raises ``RuntimeError`` exactly when the caller does not
    hold the lock: a documented way to ask, where an interrupt may land between taking the
    lock back and noting that it was taken.
    """
    try:
        cond.notify(0)
    except RuntimeError:
        return False
    return True


def _new_mutex() -> threading.RLock:
    # Reentrant only so that a thread can tell whether it holds it (an interrupt may land
    # right after it was taken back); nothing takes it twice on purpose.
    return threading.RLock()


@dataclass(eq=False)
class EngineState:
    """The mutable state of one StateFile (filelock's ``FileLockContext`` is the model)."""

    #: Guards every other field. Released only while a leader writes (steps 4-8) and while
    #: change callbacks run.
    mutex: threading.RLock = field(default_factory=_new_mutex)
    #: On ``mutex``: notified whenever a transaction ends, a write ends or the file closes.
    cond: threading.Condition = field(init=False)
    #: The batch new commits join; replaced by a fresh one when a leader takes it to write.
    open_batch: Batch = field(init=False)
    #: This StateFile holds ``lock``: no other writer can have committed since it was taken.
    lock_held: bool = False
    #: What the store's ``lock()`` returned when the lock was newly taken, until the
    #: freshness check merges it (``None`` once merged, or when the hold went on).
    taken: Snapshot | None = None
    #: ``time.monotonic()`` when ``lock`` was last taken (the hog check measures from it).
    lock_since: float = 0.0
    #: When the lock last became releasable; the keeper lets it go ``_LOCK_LINGER`` later.
    idle_since: float = 0.0
    #: The keeper watches this StateFile's held lock (set with ``lock_held``, cleared by the
    #: keeper under ``mutex`` once it let go, or found the file closed).
    keeper_watching: bool = False
    #: Who is inside the open transaction (a thread's ident, or an asyncio task: see
    #: ``_hooks``); ``None`` when none is open.
    #: Other threads' mutations and transactions wait while it is set.
    txn_owner: object = None
    #: Who is applying an autocommit (inside its write context, before its commit is
    #: queued); a change it makes meanwhile (from a sort key function) is refused.
    applying: object = None
    #: Nesting depth of the open transaction (0 when none is open).
    txn_depth: int = 0
    #: A child forked inside its own block: the block goes on, and ends without committing.
    txn_forked: bool = False
    #: A leader is writing a batch, with ``mutex`` released (steps 4-8).
    writing: bool = False
    #: Commits applied in memory and queued for the next write, in order.
    pending: list[Ticket] = field(default_factory=list)
    #: Threads in ``_await`` (and commits handed over to asyncio workers not yet there): none
    #: with ``pending`` non-empty and no write running means the queued commits lost their
    #: threads (an interrupt), and whoever comes next writes them.
    waiters: int = 0
    #: How many commits were outstanding at the end of each recent write: the threads that
    #: commit concurrently, which is how many a would-be leader waits for.
    committers: collections.deque[int] = field(
        default_factory=lambda: collections.deque(maxlen=16))
    #: Threads waiting for another thread's block or (on a store whose commit ends the lock)
    #: for a write to end before they change memory: the next batch's committers.
    held_off: int = 0
    #: Of those, the threads that will take the lock (a transaction, a replay) once the
    #: commits queued without it are written: while any waits, no mutation goes without the
    #: lock, or a stream of them from other threads would keep it waiting for ever.
    lockers: int = 0
    #: Threads waiting for nothing to be under way (``close()``, ``refresh()``: ``_drain``):
    #: new mutations wait for them, or a stream of autocommits would keep them waiting.
    draining: int = 0
    #: How many more autocommits take the lock rather than commit without it, and how many
    #: the last conflict of a commit made without it imposed (doubled by each conflict,
    #: halved by each such commit that lands): see ``_goes_unlocked``.
    lock_first: int = 0
    locked_run: int = 0
    #: Writes failed so far; a transaction compares it to notice a failure under it.
    failures: int = 0
    #: The error of the latest failed write (what a transaction built on it reports).
    last_failure: OSError = field(default_factory=lambda: OSError("no failure"))
    #: Mutations applied so far; a transaction compares it to know whether it changed anything.
    dirty: int = 0
    #: The bytes of the durable version memory was last equal to (what a rollback returns to).
    committed: bytes = b""
    #: The store's version of ``committed`` (for a file, its identity and the lock file's
    #: commit token; ``None``: there is no document); ``UNKNOWN`` when unknown (the next lock
    #: takes a fresh look, and commits are made against what it returns).
    disk: Any = UNKNOWN
    #: Containers removed since the durable version, for a rollback to revive: (parent, node).
    graveyard: list[tuple[Any, Any]] = field(default_factory=list)
    #: A list's elements before its first change since the durable version, by ``id``.
    list_journal: dict[int, tuple[Any, list[Any]]] = field(default_factory=dict)
    #: The open transaction's undo log, one level per nesting depth: each container the level
    #: changed (by ``id``, in the order of first change) with its entries before that change.
    #: Empty when no transaction is open.
    undo: list[dict[int, tuple[Any, Any]]] = field(default_factory=list)
    #: The change callbacks, in subscription order.
    callbacks: list[Callable[[ChangeEvent], None]] = field(default_factory=list)
    #: Changes not yet dispatched: an event, or a local commit as its (before, after) bytes,
    #: compared outside ``mutex`` (parsing a large document twice takes a while).
    events: list[ChangeEvent | tuple[bytes, bytes]] = field(default_factory=list)
    #: Ends the store's watch that drives ``on_change``; ``None`` when not watching.
    unwatch: Callable[[], None] | None = None
    #: The watcher's interval, for a forked child to start its own.
    poll: float = 0.0
    #: ``close()`` ran: every operation raises :class:`Closed`.
    closed: bool = False
    #: This StateFile committed at least once (``close()`` then frees the spare it kept).
    wrote: bool = False
    #: The root view (a ``DictView`` or ``ListView``), or ``_ClosedRoot`` after ``close()``.
    root: Any = None

    def __post_init__(self) -> None:
        self.cond = threading.Condition(self.mutex)
        self.open_batch = Batch(self.mutex)

    def nothing_under_way(self) -> bool:
        """Nothing under way: no transaction open, no commit queued or being written."""
        return self.txn_owner is None and not self.writing and not self.pending

    def unwritten_without_waiter(self) -> bool:
        """Commits are queued that no thread waits for (theirs was interrupted), and no
        write or transaction will pick them up: whoever finds this writes them."""
        return (bool(self.pending) and not self.writing and self.txn_owner is None
                and self.waiters == 0)



def reset_after_fork(st: EngineState, store: EngineStore, me: object) -> bool:
    """Put a forked child's copy in order; returns whether memory holds changes that the
    child's missing threads would have written (the caller rolls them back).

    Runs after ``_lock``'s own at-fork hook, which empties the process's lock registry: the
    fresh lock ``store.after_fork()`` takes must not be the parent's lock object.
    """
    # A mutation half done in another thread (applied, not yet queued) holds the mutex.
    held_elsewhere = not st.mutex.acquire(blocking=False)  # by a thread now gone
    mine = st.txn_owner == me  # the forking thread is inside its own block
    busy = bool(st.writing or st.pending or held_elsewhere
                or st.txn_owner not in (None, me))
    st.mutex = _new_mutex()
    st.cond = threading.Condition(st.mutex)
    st.open_batch = Batch(st.mutex)
    st.writing, st.pending, st.waiters, st.held_off = False, [], 0, 0
    st.lockers, st.draining = 0, 0
    if mine:  # the block goes on here, and ends in an error rather than a commit
        st.txn_forked = True
    else:
        st.txn_owner, st.txn_depth, st.undo = None, 0, []
    st.applying = None
    st.lock_held, st.keeper_watching, st.taken = False, False, None
    store.after_fork()
    return busy


class Part:
    """What every part of the engine sees of its StateFile: the settings fixed at open, and
    the one mutable :class:`EngineState`. Each part is a layer that calls only those below
    it: rollback, lock hold, freshness, group commit, transactions, then the facade."""

    path: str
    #: What messages name: the state file's target, or the store's URL (no password).
    _where: str
    backups: int
    exclusive: bool
    lock_timeout: float
    readonly: bool
    _schema: Schema | None
    _st: EngineState
    _store: EngineStore
