"""The on-disk names of a state file (docs/design.md, "On-disk names").

For a state file ``DIR/NAME``::

    DIR/NAME                      the document
    DIR/NAME.lock                 the permanent lock file
    DIR/.NAME.<random>.tmp        a commit in flight (an orphan when no writer is alive)
    DIR/.NAME.prev-<random>.tmp   the version a commit replaced, until it becomes NAME.bak
    DIR/.NAME.spare               the oldest version, retired, to be overwritten by a commit
    DIR/NAME.bak, NAME.bak.2 ...  previous versions, newest first
    DIR/NAME.corrupt-<UTC stamp>  an unreadable document set aside by recovery

If ``DIR/NAME`` is a symlink, all of this lives next to the link's resolved target.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import secrets
import stat
import time
from dataclasses import dataclass

from ._errors import StorageError
from ._fs import FileSystem, get_default, present
from .types import LeftoverKind

__all__ = ["Leftover", "StatePaths", "check_openable", "planted_by_another_user"]

_KINDS = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a directory",
}


@dataclass(frozen=True)
class Leftover:
    """A file next to the state file that a crash or a recovery left behind."""

    kind: LeftoverKind
    path: str
    generation: int = 0  # backups: 1 for NAME.bak, 2 for NAME.bak.2 ...


@dataclass(frozen=True)
class StatePaths:
    """Every name the engine, check, recover and the UI use for one state file.

    Attributes:
        given: the path as the user gave it (may be a symlink).
        target: the real file the data goes to (the symlink resolved).
    """

    given: str
    target: str

    @classmethod
    def of(cls, path: str | os.PathLike[str]) -> StatePaths:
        given = os.path.abspath(os.fspath(path))
        # realpath resolves a chain of links; a dangling link resolves to where the file will be.
        return cls(given=given, target=os.path.realpath(given))

    @functools.cached_property
    def directory(self) -> str:
        return os.path.dirname(self.target)

    @functools.cached_property
    def name(self) -> str:
        return os.path.basename(self.target)

    @functools.cached_property
    def lock(self) -> str:
        return self.target + ".lock"

    def new_temp(self) -> str:
        return os.path.join(self.directory, f".{self.name}.{secrets.token_hex(6)}.tmp")

    def new_previous(self) -> str:
        """Where a commit keeps the previous version until it becomes ``NAME.bak``."""
        return os.path.join(self.directory, f".{self.name}.prev-{secrets.token_hex(6)}.tmp")

    @functools.cached_property
    def spare(self) -> str:
        """A retired version that the next commit overwrites rather than allocate a new file.

        Freeing a file's blocks and allocating new ones costs as much as a third of a small
        commit (more on file systems mounted with ``discard``). Not a leftover: garbage by
        definition, never read back, removed when the last writer closes.
        """
        return os.path.join(self.directory, f".{self.name}.spare")

    def backup(self, generation: int) -> str:
        """``NAME.bak`` for generation 1, ``NAME.bak.N`` after it."""
        return self.target + (".bak" if generation == 1 else f".bak.{generation}")

    def new_corrupt(self, fs: FileSystem | None = None) -> str:
        """A free ``NAME.corrupt-<UTC stamp>`` name (looked for through ``fs``'s seam).

        Raises:
            OSError: a candidate name could not be looked at.
        """
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        path = f"{self.target}.corrupt-{stamp}"
        n = 1
        while present(fs or get_default(), path):
            n += 1
            path = f"{self.target}.corrupt-{stamp}-{n}"
        return path

    @property
    def schema_sibling(self) -> str:
        """``state.json`` -> ``state.schema.json`` beside the path as given."""
        stem, _ = os.path.splitext(self.given)
        return stem + ".schema.json"

    def schema_beside(self) -> str | None:
        """The schema a file goes with when none is named: its sibling, if there is one.

        Every surface (open by the CLI, check, recover, the UI) takes ``STEM.schema.json``
        beside the path as given, and nothing when it does not exist or is the file itself.
        """
        sibling = self.schema_sibling
        if os.path.normcase(sibling) == os.path.normcase(self.given):
            return None
        return sibling if os.path.exists(sibling) else None

    def leftovers(self) -> list[Leftover]:
        """:meth:`find_leftovers`, or none when the directory cannot be listed (for check and
        the UI, which report what they can; recovery must not take "none" for an answer)."""
        try:
            return self.find_leftovers()
        except OSError:
            return []

    def find_leftovers(self, fs: FileSystem | None = None) -> list[Leftover]:
        """Temp files, backups and set-aside copies beside the state file, sorted by kind.

        Args:
            fs: the seam that lists the directory (the default file system if ``None``).

        Raises:
            OSError: the directory exists but cannot be listed.
        """
        name = re.escape(self.name)
        previous = re.compile(rf"^\.{name}\.prev-[0-9a-f]+\.tmp$")
        temp = re.compile(rf"^\.{name}\.[A-Za-z0-9_-]+\.tmp$")
        backup = re.compile(rf"^{name}\.bak(?:\.(\d+))?$")
        corrupt = re.compile(rf"^{name}\.corrupt-.+$")
        found: list[Leftover] = []
        try:
            entries = (fs or get_default()).listdir(self.directory)
        except FileNotFoundError:
            return found
        for entry in sorted(entries):
            full = os.path.join(self.directory, entry)
            if previous.match(entry):
                found.append(Leftover("previous", full))
            elif temp.match(entry):
                found.append(Leftover("temp", full))
            elif m := backup.match(entry):
                found.append(Leftover("backup", full, int(m.group(1) or 1)))
            elif corrupt.match(entry):
                found.append(Leftover("corrupt", full))
        order = {"temp": 0, "previous": 1, "backup": 2, "corrupt": 3}
        found.sort(key=lambda x: (order[x.kind], x.generation, x.path))
        return found


def check_openable(paths: StatePaths) -> None:
    """Refuse, before any lock file is made, what must not be opened as a state file.

    Anything but a regular file (or a symlink to one): reading a FIFO blocks for ever, a
    device never ends, and ``/dev/null.lock`` is no place for a lock. And a symlink another
    user planted in a sticky, world-writable directory (``/tmp``): the kernel's
    ``protected_symlinks`` rule, applied to every link on the way (a directory's too),
    keeps a program from being steered into writing where that user chose.

    Raises:
        StorageError: naming the file and what it is.
    """
    _check_links(paths.given)
    try:
        st = os.stat(paths.target)
    except OSError:
        return  # missing (created from the default) or unreadable: opening says which
    if stat.S_ISREG(st.st_mode):
        return
    kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
    code = errno.EISDIR if stat.S_ISDIR(st.st_mode) else errno.EINVAL
    raise StorageError(paths.target, "opening the state file", OSError(
        code, f"it is {kind}; a state file must be a regular file (or a symlink to one)"))


def _check_links(path: str) -> None:
    """Resolve ``path`` one component at a time, checking every symlink met on the way.

    Not only the last one: a link another user planted at ``/tmp/app`` steers
    ``/tmp/app/state.json`` just as well as one at ``/tmp/app/state.json`` would.
    """
    pending = path.split(os.sep)
    resolved = os.sep
    hops = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            resolved = os.path.dirname(resolved)
            continue
        candidate = os.path.join(resolved, part)
        try:
            st = os.lstat(candidate)
        except OSError:
            return  # missing or unreachable: nothing below it is a link yet
        if not stat.S_ISLNK(st.st_mode):
            resolved = candidate
            continue
        hops += 1
        if hops > 40:  # the kernel's own limit on links in one lookup: opening says ELOOP
            return
        _refuse_unsafe_link(candidate, st, resolved)
        link = os.readlink(candidate)
        if os.path.isabs(link):
            resolved = os.sep
        pending = link.split(os.sep) + pending


def planted_by_another_user(path: str, state: str, fs: FileSystem | None = None) -> str | None:
    """Why ``path``, a copy beside the ``state`` file, must not be restored, or ``None``.

    In a sticky, world-writable directory anyone may create a file named like a backup or a
    temp file; restoring it would put their content, and their ownership, in the state
    file. As with ``protected_symlinks``, only files of the caller, of the directory's owner
    and of the state file's owner are trusted there. The looks go through ``fs``'s seam (the
    default file system if ``None``); a copy whose owner cannot be looked at is not trusted.
    """
    fs = fs or get_default()
    try:
        st = fs.lstat(path)
    except FileNotFoundError:
        return None  # gone: reading it says so
    except OSError as e:
        return f"its owner cannot be checked ({e.strerror or e}), so it is not restored"
    try:
        if st.st_uid == fs.lstat(state).st_uid:
            return None
    except OSError:
        pass  # no state file (yet), or no look at it: its owner vouches for nothing here
    directory = os.path.dirname(path)
    try:
        dst = fs.stat(directory)
    except OSError as e:
        return f"its directory cannot be checked ({e.strerror or e}), so it is not restored"
    if not _shared_by_others(st, dst):
        return None
    return (f"it belongs to uid {st.st_uid}, another user of the shared directory "
            f"{directory}; such a file is never restored (remove it)")


def _foreign(st: os.stat_result, directory: str) -> bool:
    """Whether ``st`` is another user's in a sticky, world-writable ``directory``."""
    try:
        dst = os.stat(directory)
    except OSError:
        return False
    return _shared_by_others(st, dst)


def _shared_by_others(st: os.stat_result, dst: os.stat_result) -> bool:
    """Whether ``st`` is another user's in the sticky, world-writable directory ``dst``."""
    shared = dst.st_mode & stat.S_ISVTX and dst.st_mode & stat.S_IWOTH
    return bool(shared) and st.st_uid not in (os.geteuid(), dst.st_uid)


def _refuse_unsafe_link(path: str, st: os.stat_result, directory: str) -> None:
    if _foreign(st, directory):
        raise StorageError(path, "opening the state file", OSError(
            errno.EACCES, f"it is a symlink owned by uid {st.st_uid} in the shared "
            "directory " + directory + ", which only its owner or the directory's owner "
            "may have followed (as the kernel's protected_symlinks rule says); "
            "open the file by its real path"))
