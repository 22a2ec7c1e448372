"""The live room's state: one small SQLite file shared by every session of the server.

A room is what a presenter's session publishes (scenario, page, query parameters such as the lesson
step or the pin) under a short code, with a version number bumped on every change: learners poll
the version (one indexed SELECT) and read the rest only when it moved. Polls keep one answer per
learner session (a random token, nothing identifying), at most MAX_ANSWERS each. Rooms idle for
IDLE_SECONDS are deleted. A room also records when it last moved (its version changed), so
learners can be told when their presenter has gone quiet. The file survives a restart; WAL lets readers run beside one writer, and
every change is one transaction (BEGIN IMMEDIATE). No Streamlit here: the store is plain Python.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# No 0/O, 1/I/L: a code read off a projector is typed without guessing.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 5
CODE_RE = re.compile(rf"^[{ALPHABET}]{{4,6}}$")
IDLE_SECONDS = 12 * 3600
MAX_ANSWERS = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rooms (
    code TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    poll TEXT,
    poll_id INTEGER NOT NULL DEFAULT 0,
    touched REAL NOT NULL,
    moved REAL
);
CREATE INDEX IF NOT EXISTS rooms_touched ON rooms(touched);
CREATE TABLE IF NOT EXISTS answers (
    code TEXT NOT NULL,
    poll_id INTEGER NOT NULL,
    session TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (code, poll_id, session)
);
"""


class RoomError(ValueError):
    """A request the room cannot take; `reason` (closed, poll_over, revealed, full, bad_answer) names the
    catalogue text the UI shows, the message says it in English for logs and tests."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class RoomState(BaseModel):
    """What learners follow: the presenter's scenario (canonical JSON), page and query parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scenario: str = Field(min_length=2, max_length=200_000)
    preset: str = Field(max_length=100)
    page: str = Field(max_length=200)
    params: dict[str, str] = Field(default_factory=dict)  # lesson, step, pin, ...: mirrored into learners' URLs


class Poll(BaseModel):
    """A prediction question: its catalogue key, the true value from the run, and whether it is revealed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: str = Field(min_length=1, max_length=100)
    truth: float = Field(ge=0.0, le=1.0)
    revealed: bool = False


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    session: str = Field(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    value: float = Field(ge=0.0, le=1.0)


class Room(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    version: int
    state: RoomState
    poll: Poll | None
    poll_id: int
    moved: float  # when its version last changed (seconds since the epoch, the store's clock)


def valid_code(code: str | None) -> str | None:
    """The code in capitals if it has the room code's shape, else None (typed codes are forgiven their case)."""
    if not code:
        return None
    code = code.strip().upper()
    return code if CODE_RE.match(code) else None


def new_session_token() -> str:
    return secrets.token_urlsafe(18)


PULSE_TTL_S = 0.25  # how stale a room's pulse may be (learners poll once a second)


class RoomStore:
    """Rooms in one SQLite file. Thread-safe: one connection per thread; `clock` is injectable for tests."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self._local = threading.local()
        # Every following learner asks for its room's pulse once a second, each time from a new script
        # thread (a new SQLite connection): one read per room per PULSE_TTL_S serves them all. A write
        # in this process clears it; another process's write shows within PULSE_TTL_S.
        self._pulses: dict[str, tuple[float, tuple[Any, ...] | None]] = {}
        self._pulse_lock = threading.Lock()
        self._con().executescript(_SCHEMA)
        self._add_moved()

    def _add_moved(self) -> None:
        """A file from before `moved` existed gets the column; its rooms count as moved when last touched."""
        with self._write() as con:
            if "moved" not in {r[1] for r in con.execute("PRAGMA table_info(rooms)")}:
                con.execute("ALTER TABLE rooms ADD COLUMN moved REAL")

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=True)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("PRAGMA busy_timeout=30000")
            self._local.con = con
        return con

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE takes the write lock first, so read-then-write is atomic."""
        con = self._con()
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        with self._pulse_lock:
            self._pulses.clear()

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    # --- rooms ---------------------------------------------------------------------------------

    def expire(self) -> int:
        """Delete rooms idle for IDLE_SECONDS and their answers; returns how many rooms went."""
        cutoff = self.clock() - IDLE_SECONDS
        with self._write() as con:
            gone = [r[0] for r in con.execute("SELECT code FROM rooms WHERE touched < ?", (cutoff,))]
            con.executemany("DELETE FROM answers WHERE code = ?", [(c,) for c in gone])
            con.executemany("DELETE FROM rooms WHERE code = ?", [(c,) for c in gone])
        return len(gone)

    def open(self, state: RoomState) -> str:
        """A new room with a code unique among live rooms."""
        self.expire()
        for _ in range(100):
            code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
            with self._write() as con:
                try:
                    now = self.clock()
                    con.execute("INSERT INTO rooms (code, version, state, touched, moved) VALUES (?, 1, ?, ?, ?)",
                                (code, state.model_dump_json(), now, now))
                except sqlite3.IntegrityError:
                    continue
            return code
        raise RoomError("closed", "no free room code")  # pragma: no cover - 28 million codes

    def close_room(self, code: str) -> None:
        with self._write() as con:
            con.execute("DELETE FROM answers WHERE code = ?", (code,))
            con.execute("DELETE FROM rooms WHERE code = ?", (code,))

    def version(self, code: str) -> int | None:
        """The room's version, or None if it is closed or expired (the learners' one cheap poll)."""
        row = self._con().execute("SELECT version, touched FROM rooms WHERE code = ?", (code,)).fetchone()
        if row is None or row[1] < self.clock() - IDLE_SECONDS:
            return None
        return int(row[0])

    def pulse(self, code: str) -> tuple[int, float] | None:
        """The room's version and when it last moved, or None if it is closed or expired (one SELECT)."""
        now = time.monotonic()
        with self._pulse_lock:
            cached = self._pulses.get(code)
        if cached is not None and now - cached[0] < PULSE_TTL_S:
            row = cached[1]
        else:
            row = self._con().execute("SELECT version, touched, coalesce(moved, touched) FROM rooms WHERE code = ?", (code,)).fetchone()
            with self._pulse_lock:
                self._pulses[code] = (now, row)
        if row is None or row[1] < self.clock() - IDLE_SECONDS:
            return None
        return int(row[0]), float(row[2])

    def get(self, code: str) -> Room | None:
        row = self._con().execute("SELECT version, state, poll, poll_id, touched, coalesce(moved, touched) FROM rooms WHERE code = ?",
                                  (code,)).fetchone()
        if row is None or row[4] < self.clock() - IDLE_SECONDS:
            return None
        poll = Poll.model_validate_json(row[2]) if row[2] else None
        return Room(code=code, version=row[0], state=RoomState.model_validate_json(row[1]), poll=poll, poll_id=row[3], moved=row[5])

    def _change(self, code: str, sets: str, params: tuple[Any, ...], also: str | None = None) -> int:
        """Apply one UPDATE to a live room (and `also`, a statement on its code, in the same transaction),
        bump its version and touch it; returns the new version."""
        with self._write() as con:
            if also:
                con.execute(also, (code,))
            now = self.clock()
            row = con.execute(f"UPDATE rooms SET {sets}, version = version + 1, touched = ?, moved = ? "  # `sets`: this module's own fragments
                              "WHERE code = ? AND touched >= ? RETURNING version",
                              (*params, now, now, code, now - IDLE_SECONDS)).fetchone()
        if row is None:
            raise RoomError("closed", f"room {code} is closed")
        return int(row[0])

    def publish(self, code: str, state: RoomState) -> bool:
        """Store the presenter's state; a state equal to the stored one writes nothing. True if it changed."""
        room = self.get(code)
        if room is None:
            raise RoomError("closed", f"room {code} is closed")
        if room.state == state:
            return False
        self._change(code, "state = ?", (state.model_dump_json(),))
        return True

    def touch(self, code: str) -> None:
        """Keep a room alive without bumping its version (the presenter is still there)."""
        self._con().execute("UPDATE rooms SET touched = ? WHERE code = ?", (self.clock(), code))

    # --- polls ---------------------------------------------------------------------------------

    def ask(self, code: str, question: str, truth: float) -> int:
        """Start a new poll (the previous one's answers are dropped); returns its id."""
        poll = Poll(question=question, truth=truth)
        with self._write() as con:
            row = con.execute("UPDATE rooms SET poll = ?, poll_id = poll_id + 1, version = version + 1, touched = ?, moved = ? "
                              "WHERE code = ? RETURNING poll_id", (poll.model_dump_json(), self.clock(), self.clock(), code)).fetchone()
            if row is None:
                raise RoomError("closed", f"room {code} is closed")
            con.execute("DELETE FROM answers WHERE code = ? AND poll_id < ?", (code, row[0]))
        return int(row[0])

    def reveal(self, code: str) -> None:
        room = self.get(code)
        if room is None or room.poll is None:
            raise RoomError("poll_over", f"room {code} has no poll")
        self._change(code, "poll = ?", (room.poll.model_copy(update={"revealed": True}).model_dump_json(),))

    def reset(self, code: str) -> None:
        """End the poll and forget its answers."""
        self._change(code, "poll = NULL", (), also="DELETE FROM answers WHERE code = ?")

    def answer(self, code: str, poll_id: int, session: str, value: float) -> None:
        """One learner session's answer (a second one replaces the first); the 501st session is refused."""
        try:
            ans = Answer(session=session, value=value)
        except ValidationError as err:
            raise RoomError("bad_answer", f"an answer must be a share between 0 and 1 from a session token ({err.errors()[0]['msg']})") from None
        with self._write() as con:
            row = con.execute("SELECT poll, poll_id FROM rooms WHERE code = ? AND touched >= ?",
                              (code, self.clock() - IDLE_SECONDS)).fetchone()
            if row is None or row[0] is None or row[1] != poll_id:
                raise RoomError("poll_over", "this poll is over")
            if json.loads(row[0]).get("revealed"):
                raise RoomError("revealed", "the answers are revealed: this poll takes no more guesses")
            known = con.execute("SELECT 1 FROM answers WHERE code = ? AND poll_id = ? AND session = ?",
                                (code, poll_id, ans.session)).fetchone()
            if known is None:
                (count,) = con.execute("SELECT count(*) FROM answers WHERE code = ? AND poll_id = ?", (code, poll_id)).fetchone()
                if count >= MAX_ANSWERS:
                    raise RoomError("full", f"this poll is full: it takes at most {MAX_ANSWERS} answers")
            con.execute("INSERT INTO answers (code, poll_id, session, value) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (code, poll_id, session) DO UPDATE SET value = excluded.value",
                        (code, poll_id, ans.session, ans.value))
            con.execute("UPDATE rooms SET touched = ? WHERE code = ?", (self.clock(), code))

    def answers(self, code: str, poll_id: int) -> list[float]:
        rows = self._con().execute("SELECT value FROM answers WHERE code = ? AND poll_id = ? ORDER BY value", (code, poll_id))
        return [float(r[0]) for r in rows]

    def my_answer(self, code: str, poll_id: int, session: str) -> float | None:
        row = self._con().execute("SELECT value FROM answers WHERE code = ? AND poll_id = ? AND session = ?",
                                  (code, poll_id, session)).fetchone()
        return None if row is None else float(row[0])
