"""Read ``imagebot.yaml`` files into ``Settings``, with errors that point at the bad key and line.

Two files, two trust levels: the CLI user's own ``--config`` may set everything the grammar
knows; the repository's ``imagebot.yaml`` is read from the clone, so anyone who can push wrote
it, and it may set only the keys ``fields`` allows there (no secrets, key paths, hosts). A
repository file that is a symlink out of the clone is refused, and no error ever quotes a line.
"""

from __future__ import annotations

import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from imagebot.config import Settings
from imagebot.errors import ConfigError
from imagebot.settings.fields import Source

if TYPE_CHECKING:
    from imagebot.settings.grammar import Locate

REPOSITORY_FILE = "imagebot.yaml"
MAX_FILE_BYTES = 1 << 20  # far above any real settings file; /dev/zero must not fill memory
# Settings nest 6 levels deep at most; flow brackets nested deeper are refused before the
# (recursive) composer sees them, so ``[[[[...`` costs a linear scan, not seconds and a crash.
MAX_FLOW_DEPTH = 64


def flow_depth(text: str, limit: int = MAX_FLOW_DEPTH) -> int:
    """How deep ``[`` and ``{`` nest in ``text``, counted up to ``limit + 1``. Quotes and
    comments are not told apart: a settings file never holds 64 unclosed brackets."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif char in "]}" and depth:
            depth -= 1
    return deepest


def file_locator(origin: str) -> Locate:
    """Errors as ``origin:line: key``, the line being the key's own (else its mapping's)."""

    def locate(parent: Any, name: Any, key: str) -> str:
        lc = getattr(parent, "lc", None)
        if lc is None:
            return f"{origin}: {key}"
        try:
            line = lc.key(name)[0] + 1
        except (KeyError, TypeError, AttributeError):
            line = lc.line + 1
        return f"{origin}:{line}: {key}"

    return locate


def parse_settings(
    text: str,
    origin: str,
    base: Settings | None = None,
    env: Mapping[str, str] | None = None,
    *,
    source: Source,
    unread: frozenset[str] = frozenset(),
) -> Settings:
    """Parse ``text`` (the content of the file ``origin``) as ``source`` over ``base``, leaving
    the keys in ``unread`` unset (``read_settings``)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    # The grammar (and its value checks) loads with the first file: most runs read none.
    from imagebot.settings.grammar import read_settings

    if flow_depth(text) > MAX_FLOW_DEPTH:
        raise ConfigError(f"{origin}: nested deeper than {MAX_FLOW_DEPTH} levels; not settings")
    try:
        data = YAML(typ="rt").load(text)
    except MarkedYAMLError as error:
        # The problem and its position only: the library's message quotes the offending lines.
        mark = error.problem_mark
        where = f"{origin}:{mark.line + 1}" if mark is not None else origin
        raise ConfigError(f"{where}: not valid YAML: {error.problem or error.context}") from None
    except YAMLError as error:
        raise ConfigError(f"{origin}: not valid YAML ({type(error).__name__})") from None
    except RecursionError:  # block nesting ("- - - ...") the bracket count does not see
        raise ConfigError(f"{origin}: nested too deeply; not a settings file") from None
    except (AttributeError, TypeError, ValueError, KeyError) as error:
        # ruamel fails this way on input it does not foresee (a merge key that refers to its
        # own mapping): still bad input, never a crash.
        raise ConfigError(f"{origin}: not valid YAML ({type(error).__name__})") from None
    reading = read_settings(data, source, file_locator(origin), base=base, env=env, unread=unread)
    return reading.settings


def load_settings(
    path: str | Path,
    base: Settings | None = None,
    *,
    origin: str = "",
    source: Source = Source.CONFIG,
    unread: frozenset[str] = frozenset(),
) -> Settings:
    """Read the settings file at ``path`` as ``source`` over ``base`` (errors name ``origin``,
    default ``path``), the keys in ``unread`` left unset; ``ConfigError`` when it is missing,
    unreadable or invalid."""
    file = Path(path)
    name = origin or str(path)
    try:
        if not stat.S_ISREG(file.stat().st_mode):
            raise ConfigError(f"{name}: not a regular file")
        with file.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{name}: no such file; check the --config path") from None
    except OSError as error:
        raise ConfigError(f"{name}: cannot read: {error.strerror}") from None
    return _parse_bytes(raw, name, base, source=source, unread=unread)


def _parse_bytes(
    raw: bytes,
    name: str,
    base: Settings | None,
    *,
    source: Source,
    unread: frozenset[str] = frozenset(),
) -> Settings:
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(f"{name}: larger than {MAX_FILE_BYTES} bytes; not a settings file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{name}: not UTF-8 text") from None
    return parse_settings(text, name, base, source=source, unread=unread)


class CommittedFiles(Protocol):
    """The files of the commit being worked on, for a clone whose work tree was never written
    out (``Workspace.snapshot``); such a commit holds no symlinks."""

    def read_committed(self, name: str, limit: int) -> bytes | None:
        """At most ``limit + 1`` bytes of the regular file ``name``; None when there is none."""
        ...

    def exists(self, path: str) -> bool:
        """Whether ``path`` names a file or a directory of the commit."""
        ...


def repository_settings(
    root: Path, base: Settings, committed: CommittedFiles | None = None
) -> Settings:
    """``base`` under the repository's own ``imagebot.yaml``, if it has one (untrusted): from
    the work tree at ``root``, or from the ``committed`` files."""
    if committed is not None:
        raw = committed.read_committed(REPOSITORY_FILE, MAX_FILE_BYTES)
        if raw is None:
            return base
        return _parse_bytes(raw, REPOSITORY_FILE, base, source=Source.REPOSITORY)
    file = root / REPOSITORY_FILE
    if file.is_symlink():
        inside = root.resolve()
        target = file.resolve()
        if target != inside and inside not in target.parents:
            raise ConfigError(
                f"{REPOSITORY_FILE}: a symlink that leads out of the repository; refused"
            )
    if not file.is_file():
        return base
    return load_settings(file, base, origin=REPOSITORY_FILE, source=Source.REPOSITORY)


class Configure(Protocol):
    """The final settings for a workspace: its root, and its ``committed`` files when they are
    read from the commit rather than the work tree."""

    def __call__(self, root: Path, committed: CommittedFiles | None = None, /) -> Settings: ...


def settings_loader(
    path: str | None, base: Settings, apply: Callable[[Settings], Settings]
) -> Configure:
    """A function from workspace root to final settings: ``path`` (``--config``, trusted) or
    else the repository's ``imagebot.yaml`` (untrusted), under the command line's explicit
    choices, which ``apply`` re-applies on top."""

    def load(root: Path, committed: CommittedFiles | None = None) -> Settings:
        if path:
            return apply(load_settings(path, base))
        settings = repository_settings(root, base, committed)
        return base if settings is base else apply(settings)

    return load
