"""A recording file system and a power-loss model built on what it records.

:class:`Recorder` is a :class:`stateview._fs.FileSystem` that performs every call for real and
keeps a log of it. :func:`crash_states` replays a prefix of that log over a snapshot of the
directory taken before the log started and yields every directory a power cut at that point
could leave behind:

* file data written but not yet fsynced is lost or cut short: the file keeps only what its last
  fsync made durable, or half of the rest, or all but one byte, or all of it, or (as XFS can
  show after a crash) the full length in NUL bytes. A file rewritten in place (the spare)
  shows its old bytes, its new ones, or a mix of both;
* creations, links, renames and unlinks not yet followed by a directory fsync may each be
  undone. Every subset is tried that keeps the order of operations on any one name (a file
  system may reorder unrelated entries, but never replays a rename of a name before the
  creation of that name).

States are real directories (:func:`materialise`): names that shared an inode are hard links
again, and modification times follow the order in which the data was written, so recovery code
that looks at link counts or mtimes sees what it would see after a real crash.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from stateview._fs import FileSystem

#: Operations that change which name points at which file.
DIR_OPS = frozenset({"create", "link", "replace", "unlink"})
#: Operations that change the disk at all (the rest only read or touch metadata we ignore).
MUTATING = DIR_OPS | {"open", "write", "rewrite", "fsync", "fsync_dir"}


@dataclass
class Op:
    """One recorded call: its name, arguments, and when it happened (ns)."""

    name: str
    args: dict[str, Any]
    at: int = field(default_factory=time.time_ns)

    def names(self) -> set[str]:
        """The directory entries this operation touches."""
        return {v for k, v in self.args.items() if k in ("path", "src", "dst")}

    def __str__(self) -> str:
        shown = {k: (os.path.basename(v) if isinstance(v, str) else
                     f"<{len(v)} bytes>" if isinstance(v, bytes) else v)
                 for k, v in self.args.items()}
        return f"{self.name}({', '.join(f'{k}={v}' for k, v in shown.items())})"


class Recorder(FileSystem):
    """Performs every call for real and, while :attr:`recording`, logs it as an :class:`Op`."""

    def __init__(self, recording: bool = True) -> None:
        self.ops: list[Op] = []
        self.recording = recording
        self.before: Snapshot | None = None
        self.marks: list[int] = []

    def mark(self) -> None:
        """Note the end of one commit in the log (for logs of several commits)."""
        self.marks.append(len(self.ops))

    def start(self, directory: str) -> None:
        """Snapshot ``directory`` (the state the log starts from) and start recording."""
        self.before = Snapshot.take(directory)
        self.recording = True

    def _log(self, name: str, **args: Any) -> None:
        if self.recording:
            self.ops.append(Op(name, args))

    def stat(self, path: str) -> os.stat_result:
        self._log("stat", path=path)
        return super().stat(path)

    def open_new(self, path: str, mode: int) -> int:
        fd = super().open_new(path, mode)
        self._log("create", path=path, fd=fd)
        return fd

    # The lock file's steps are logged for the trace, never replayed: the lock file is not
    # durable state (written without fsync, its record may be anything after a power cut;
    # test_lock_faults.py opens files whose lock record a power cut tore).
    def open_lock(self, path: str, mode: int) -> int:
        fd = super().open_lock(path, mode)
        self._log("lock_open", path=path, fd=fd)
        return fd

    def flock(self, fd: int, operation: int) -> None:
        super().flock(fd, operation)
        self._log("lock_flock", fd=fd, operation=operation)

    def pwrite(self, fd: int, data: bytes, offset: int) -> int:
        n = super().pwrite(fd, data, offset)
        self._log("lock_pwrite", fd=fd, data=data, offset=offset)
        return n

    def ftruncate(self, fd: int, size: int) -> None:
        super().ftruncate(fd, size)
        self._log("lock_ftruncate", fd=fd, size=size)

    def pread(self, fd: int, size: int, offset: int) -> bytes:
        self._log("lock_pread", fd=fd)
        return super().pread(fd, size, offset)

    def close_lock(self, fd: int) -> None:
        super().close_lock(fd)
        self._log("lock_close", fd=fd)

    def open_spare(self, path: str, mode: int | None = None) -> int:
        fd = super().open_spare(path, mode)
        self._log("open", path=path, fd=fd)
        return fd

    def rewrite(self, fd: int, data: bytes) -> None:
        super().rewrite(fd, data)
        self._log("rewrite", fd=fd, data=bytes(data))

    def datasync(self, fd: int) -> None:
        super().datasync(fd)
        self._log("fsync", fd=fd)

    def fchmod(self, fd: int, mode: int) -> None:
        super().fchmod(fd, mode)
        self._log("fchmod", fd=fd, mode=mode)

    def fchown(self, fd: int, uid: int, gid: int) -> None:
        super().fchown(fd, uid, gid)
        self._log("fchown", fd=fd)

    def write_all(self, fd: int, data: bytes) -> None:
        super().write_all(fd, data)
        self._log("write", fd=fd, data=bytes(data))

    def fsync(self, fd: int) -> None:
        super().fsync(fd)
        self._log("fsync", fd=fd)

    def close(self, fd: int) -> None:
        super().close(fd)
        self._log("close", fd=fd)

    def link(self, src: str, dst: str) -> None:
        super().link(src, dst)
        self._log("link", src=src, dst=dst)

    def replace(self, src: str, dst: str) -> None:
        super().replace(src, dst)
        self._log("replace", src=src, dst=dst)

    def unlink(self, path: str) -> None:
        super().unlink(path)
        self._log("unlink", path=path)

    def fsync_dir(self, path: str) -> None:
        # Not through super(): that would log the fsync of the directory's fd as a file fsync.
        FileSystem.fsync_dir(FileSystem(), path)
        self._log("fsync_dir", path=path)

    def read_bytes(self, path: str) -> bytes:
        self._log("read_bytes", path=path)
        return super().read_bytes(path)

    # Reads a commit and a reload make: logged for the trace; nothing to replay.
    def read_version(self, path: str) -> tuple[bytes, os.stat_result]:
        self._log("read_version", path=path)
        return super().read_version(path)

    def lstat(self, path: str) -> os.stat_result:
        self._log("lstat", path=path)
        return super().lstat(path)

    def listdir(self, path: str) -> list[str]:
        self._log("listdir", path=path)
        return super().listdir(path)

    def flock_busy(self, path: str) -> bool:
        self._log("flock_busy", path=path)
        return super().flock_busy(path)

    def mutating(self) -> list[Op]:
        return [op for op in self.ops if op.name in MUTATING]


# -- the disk model ----------------------------------------------------------------------------


@dataclass
class Inode:
    content: bytes
    synced: int  # bytes made durable by the last fsync
    mtime_ns: int
    base: bytes | None = None  # durable bytes under an unsynced rewrite in place


@dataclass(frozen=True)
class Snapshot:
    """A directory's regular files: name -> inode number, inode -> (bytes, mtime)."""

    names: dict[str, int]
    inodes: dict[int, tuple[bytes, int]]

    @classmethod
    def take(cls, directory: str, skip: tuple[str, ...] = (".lock",)) -> Snapshot:
        names: dict[str, int] = {}
        inodes: dict[int, tuple[bytes, int]] = {}
        for entry in sorted(os.listdir(directory)):
            if entry.endswith(skip):
                continue
            full = os.path.join(directory, entry)
            st = os.lstat(full)
            if not os.path.isfile(full) or os.path.islink(full):
                continue
            names[entry] = st.st_ino
            if st.st_ino not in inodes:
                with open(full, "rb") as f:
                    inodes[st.st_ino] = (f.read(), st.st_mtime_ns)
        return cls(names, inodes)


@dataclass(frozen=True)
class DiskState:
    """What a power cut left: names bound to files with contents and mtimes."""

    names: tuple[tuple[str, int], ...]
    files: tuple[tuple[bytes, int], ...]  # indexed by the ints in ``names``
    label: str

    def key(self) -> tuple[Any, ...]:
        digest = tuple((n, hashlib.blake2b(self.files[i][0], digest_size=12).digest(), i)
                       for n, i in self.names)
        return digest

    def content(self, name: str) -> bytes | None:
        for n, i in self.names:
            if n == name:
                return self.files[i][0]
        return None


_VARIANTS = ("synced", "half", "all-but-one", "full", "zeros")


def _cut(inode: Inode, variant: str) -> bytes:
    data, durable = inode.content, inode.synced
    if durable >= len(data):
        return data
    if inode.base is not None:  # blocks of the new bytes over the old ones, in any mix
        old = inode.base.ljust(len(data), b"\0")
        half = len(data) // 2
        return {"synced": inode.base, "half": data[:half] + old[half:len(data)],
                "all-but-one": data[:-1] + old[len(data) - 1:len(data)],
                "zeros": b"\0" * len(data)}.get(variant, data)
    if variant == "synced":
        return data[:durable]
    if variant == "half":
        return data[: durable + (len(data) - durable) // 2]
    if variant == "all-but-one":
        return data[:-1]
    if variant == "zeros":
        return data[:durable] + b"\0" * (len(data) - durable)
    return data


def _closed_subsets(pending: list[Op], reorder: str) -> Iterator[tuple[int, ...]]:
    """Subsets of ``pending`` (as index tuples).

    ``reorder="per-name"`` keeps only subsets that keep the order of operations on each name
    (what journaling file systems do); ``"any"`` allows every subset.
    """
    n = len(pending)
    # Beyond 12 pending operations (never in a stateview commit) fall back to prefixes.
    masks: Any = range(1 << n) if n <= 12 else ((1 << i) - 1 for i in range(n + 1))
    for mask in masks:
        chosen = [i for i in range(n) if mask >> i & 1]
        ok = True
        for i in chosen if reorder == "per-name" else ():
            for j in range(i):
                if not mask >> j & 1 and pending[j].names() & pending[i].names():
                    ok = False
                    break
            if not ok:
                break
        if ok:
            yield tuple(chosen)


def _apply(names: dict[str, int], op: Op, inode_of_fd: dict[int, int]) -> None:
    base = os.path.basename
    if op.name == "create":
        names[base(op.args["path"])] = inode_of_fd[op.args["fd"]]
    elif op.name == "link":
        src = base(op.args["src"])
        if src in names:
            names[base(op.args["dst"])] = names[src]
    elif op.name == "replace":
        src = base(op.args["src"])
        if src in names:
            names[base(op.args["dst"])] = names.pop(src)
    elif op.name == "unlink":
        names.pop(base(op.args["path"]), None)


def crash_states(
    before: Snapshot, ops: list[Op], k: int, reorder: str = "per-name"
) -> Iterator[DiskState]:
    """Every disk state a power cut right after ``ops[:k]`` may leave (duplicates included)."""
    inodes: dict[int, Inode] = {
        ino: Inode(data, len(data), mtime) for ino, (data, mtime) in before.inodes.items()}
    durable = dict(before.names)
    current = dict(before.names)  # names as the running system sees them
    volatile_ops: list[Op] = []
    inode_of_fd: dict[int, int] = {}
    next_ino = -1
    for op in ops[:k]:
        if op.name == "create":
            inode_of_fd[op.args["fd"]] = next_ino
            inodes[next_ino] = Inode(b"", 0, op.at)
            next_ino -= 1
        elif op.name == "open":
            inode_of_fd[op.args["fd"]] = current[os.path.basename(op.args["path"])]
        elif op.name == "write":
            node = inodes[inode_of_fd[op.args["fd"]]]
            node.content += op.args["data"]
            node.mtime_ns = op.at
        elif op.name == "rewrite":
            node = inodes[inode_of_fd[op.args["fd"]]]
            if node.base is None:
                node.base = node.content[:node.synced]
            node.content, node.synced, node.mtime_ns = op.args["data"], 0, op.at
        elif op.name == "fsync":
            node = inodes[inode_of_fd[op.args["fd"]]]
            node.synced, node.base = len(node.content), None
        if op.name in DIR_OPS:
            _apply(current, op, inode_of_fd)
            volatile_ops.append(op)
        elif op.name == "fsync_dir":
            for done in volatile_ops:
                _apply(durable, done, inode_of_fd)
            volatile_ops = []
    for subset in _closed_subsets(volatile_ops, reorder):
        names = dict(durable)
        for i in subset:
            _apply(names, volatile_ops[i], inode_of_fd)
        torn = [ino for ino in set(names.values()) if inodes[ino].synced < len(inodes[ino].content)]
        variants = _VARIANTS if torn else ("full",)
        for variant in variants:
            order = sorted(set(names.values()), key=lambda ino: (inodes[ino].mtime_ns, ino))
            index = {ino: i for i, ino in enumerate(order)}
            files = tuple((_cut(inodes[ino], variant), inodes[ino].mtime_ns) for ino in order)
            label = (f"after {k} ops, {len(subset)}/{len(volatile_ops)} unsynced dir ops kept "
                     f"{list(subset)}, unsynced data {variant if torn else 'none'}")
            yield DiskState(tuple(sorted((n, index[i]) for n, i in names.items())), files, label)


def unique_states(
    before: Snapshot, ops: list[Op], reorder: str = "per-name"
) -> Iterator[tuple[list[int], DiskState]]:
    """``(ks, state)`` for every distinct state and the crash points ``ks`` that leave it.

    A state reachable from several crash points must satisfy what each of them requires
    (after an acknowledged commit: the new version).
    """
    found: dict[tuple[Any, ...], tuple[list[int], DiskState]] = {}
    for k in range(len(ops) + 1):
        for state in crash_states(before, ops, k, reorder):
            found.setdefault(state.key(), ([], state))[0].append(k)
    yield from sorted(found.values(), key=lambda item: item[0][-1])


def materialise(state: DiskState, directory: str) -> None:
    """Write ``state`` into the empty ``directory`` as real files and hard links."""
    first: dict[int, str] = {}
    for name, i in state.names:
        path = os.path.join(directory, name)
        if i in first:
            os.link(first[i], path)
            continue
        with open(path, "wb") as f:
            f.write(state.files[i][0])
        first[i] = path
    for i, path in first.items():
        mtime = state.files[i][1]
        os.utime(path, ns=(mtime, mtime))


def replay(before: Snapshot, ops: list[Op]) -> dict[str, bytes]:
    """The directory after every operation in ``ops`` took effect (no power cut)."""
    inodes = {ino: data for ino, (data, _) in before.inodes.items()}
    names = dict(before.names)
    inode_of_fd: dict[int, int] = {}
    for n, op in enumerate(ops):
        if op.name == "create":
            inode_of_fd[op.args["fd"]] = -1 - n
            inodes[-1 - n] = b""
        elif op.name == "open":
            inode_of_fd[op.args["fd"]] = names[os.path.basename(op.args["path"])]
        elif op.name == "write":
            inodes[inode_of_fd[op.args["fd"]]] += op.args["data"]
        elif op.name == "rewrite":
            inodes[inode_of_fd[op.args["fd"]]] = op.args["data"]
        if op.name in DIR_OPS:
            _apply(names, op, inode_of_fd)
    return {name: inodes[ino] for name, ino in sorted(names.items())}
