"""``postgresql://USER@HOST:PORT/DB?PARAMS#DOCUMENT``: what a store URL names.

Everything before ``#`` is a libpq connection URI, handed to libpq as it is, so that its
parameters (``sslmode``, ``host=/socket/dir``, ``options=-csearch_path=...``, ``PG*``
environment variables, ``~/.pgpass``) work as they do for psql. The fragment names the
document: one row of the documents table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

__all__ = ["SCHEMES", "StoreURL", "hide_password", "hide_url_passwords", "is_store_url",
           "parse_url"]

SCHEMES = ("postgresql://", "postgres://")
_MAX_NAME = 1000  # documents are rows, named by people: a long name is a mistake


@dataclass(frozen=True)
class StoreURL:
    """A parsed store URL.

    Attributes:
        conninfo: the libpq URI (no fragment), password included.
        document: the document's name (the fragment, percent-decoded).
        shown: the URL for messages: no password anywhere.
    """

    conninfo: str
    document: str
    shown: str


def is_store_url(target: str) -> bool:
    """Whether ``target`` (a CLI argument, ``stateview.open``'s path) is a store URL."""
    return target.lower().startswith(SCHEMES)


def parse_url(url: str) -> StoreURL:
    """Split a store URL into the connection and the document.

    Raises:
        ValueError: not a postgresql:// URL, no ``#DOCUMENT``, or a name that cannot be one.
    """
    if not is_store_url(url):
        raise ValueError(f"{url!r}: not a postgresql:// or postgres:// URL")
    # The last '#': a name's own '#' is written %23, a password's '#' is libpq's to read.
    conninfo, hash_, fragment = url.rpartition("#")
    if not hash_:
        conninfo = url
    shown = hide_password(url)
    if not hash_ or not fragment:
        raise ValueError(f"{shown}: name the document after '#', as in "
                         "postgresql://USER@HOST/DB#state")
    try:
        # A command line that is not UTF-8 arrives with surrogates libpq cannot be sent, and
        # a name's %XX must decode: '%ff' and '%fe' must not both name the same U+FFFD row.
        url.encode("utf-8")
        document = unquote(fragment, errors="strict")
    except UnicodeError:
        raise ValueError(f"{shown.encode('utf-8', 'backslashreplace').decode('utf-8')}: "
                         "not UTF-8 (percent-encoded UTF-8 is, as in %C3%A9)") from None
    if len(document) > _MAX_NAME or any(ord(c) < 32 for c in document):
        raise ValueError(f"{shown}: a document name is at most {_MAX_NAME} characters, "
                         "without control characters")
    return StoreURL(conninfo=conninfo, document=document, shown=shown)


def hide_password(url: str) -> str:
    """``url`` with any password (in the authority or as a parameter) replaced by ``***``."""
    for start, end in reversed(_password_spans(url)):
        url = url[:start] + "***" + url[end:]
    return url


#: A store URL inside other text (a command line): up to the next space.
_URL_IN_TEXT = re.compile(r"postgres(?:ql)?://\S*", re.IGNORECASE)


def hide_url_passwords(text: str) -> str:
    """``text`` (a writer's command line, say) with :func:`hide_password` applied to every
    ``postgresql://`` URL in it."""
    return _URL_IN_TEXT.sub(lambda m: hide_password(m.group()), text)


def hide_passwords_in(text: str, url: str) -> str:
    """``text`` (a driver's message about ``url``) without the passwords ``url`` holds."""
    text = text.replace(url, hide_password(url))
    for start, end in _password_spans(url):
        text = text.replace(url[start:end], "***")
    return text


def _userinfo(before_at: str) -> bool:
    """Whether the first '@' of a URL, after ``before_at``, ends a userinfo.

    libpq's rule is that it does when no '/' comes before it. Kept generous for a password
    with a '/' the user did not percent-encode, unless a '?' comes first as well: then the
    '@' belongs to the query (``postgresql:///db?host=/sock&user=me@srv``), and hiding from
    the authority up to it would hide the host, the database and parameters.
    """
    return "/" not in before_at or "?" not in before_at


def _password_spans(url: str) -> list[tuple[int, int]]:
    """Where the passwords of ``url`` are: in the authority, and ``password=`` parameters.

    Generous on purpose: a password the user did not percent-encode may hold '/', '?', '#'
    or '@', and a message that hides too much is better than one that shows a password.
    """
    scheme = re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*://", url)
    if scheme is None:
        return []
    start = scheme.end()
    head = url.rfind("#")
    head = len(url) if head < start else head  # the fragment names a document
    spans = []
    after_userinfo = start
    first_at = url.find("@", start, head)
    if first_at != -1 and not _userinfo(url[start:first_at]):
        first_at = -1  # the '@' is a parameter's (``user=me@srv``): there is no userinfo
    if first_at != -1:
        # The userinfo ends at the last '@' before the path (before the query if there is no
        # path): a password's own '@' is hidden with it, a parameter's is not.
        end = url.find("/", first_at, head)
        if end == -1:
            end = url.find("?", first_at, head)
        at = url.rfind("@", start, head if end == -1 else end)
        colon = url.find(":", start, at)
        if colon != -1 and at > colon + 1:
            spans.append((colon + 1, at))
        after_userinfo = at + 1
    # Parameters are looked for from the start: without a path, libpq may read a query as
    # the userinfo (``postgresql://h?password=pw&user=me@srv``), and either way pw is hidden.
    for m in re.finditer(r"(?<=[?&])([^&=]*)=([^&]*)", url[start:head]):
        if unquote(m.group(1)).strip() == "password" and m.group(2) \
                and (m.start(2) + start >= after_userinfo or not spans):
            spans.append((start + m.start(2), start + m.end(2)))
    return spans
