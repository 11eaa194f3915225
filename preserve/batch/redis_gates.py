"""--host-workers, --wait and robots.txt kept in Redis, for Celery workers on several machines.

`RedisHostGate` is the HostGate of a batch whose rows run on Celery workers: every capture of
the batch, in any process on any machine, takes its slots and books its starts in the same
Redis, through Lua scripts that run atomically there. Times are Redis's own clock (`TIME`),
so the machines' clocks need not agree.

- Slots: a sorted set per host of lease tokens, scored by when each lease ends. A taker first
  drops the leases that ended, then adds its token if fewer than `host_workers` remain. A
  holder renews its leases every third of `lease` from a thread of its own, so a slot held
  for a long body stays held, while a holder that died (a worker killed, a machine lost)
  gives its slot back when its lease ends: `lease` seconds at most.
- Pacing: per host, the earliest time the next request may start. `reserve` books a start
  and moves that time on by `wait`, in one step, and returns how long to sleep.
- Retry-After: per host, a time before which nothing starts (`hold`), honoured by `reserve`.

Every key expires: a host's slots `2 * lease` after their last use, its pacing and holds once
they are past. `RedisRobotsStore` keeps the batch's robots.txt files in one hash that expires
a day after the last file was added.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from preserve.errors import BadInput
from preserve.fields import read_json
from preserve.robots import MAX_ROBOTS_BYTES, RobotsFile

if TYPE_CHECKING:
    import redis

LEASE = 30.0
"""Seconds a slot stays taken without renewal: how long a dead holder's slot stays lost."""

POLL = 0.05
"""Seconds between two tries for a slot while `acquire` waits."""

ROBOTS_TTL = 24 * 3600
"""Seconds the batch's robots.txt files are kept after the last one was added."""

KEEP = 7 * 24 * 3600
"""Seconds a batch's keys in Redis outlive their last use (outcomes, runs, deliveries)."""

# Lua's numbers are doubles; milliseconds since the epoch are exact in them.
_NOW = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
"""

_ACQUIRE = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[3]))
  return 1
end
return 0
"""
)

_RENEW = (
    _NOW
    + """
local kept = 0
for i = 2, #ARGV do
  if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[1]), ARGV[i]) == 1 then
    kept = kept + 1
  end
end
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[1]))
return kept
"""
)

_RESERVE = (
    _NOW
    + """
local start = now
local hold = tonumber(redis.call('GET', KEYS[2]) or '0')
if hold > start then start = hold end
local wait = tonumber(ARGV[1])
if wait > 0 then
  local next = tonumber(redis.call('GET', KEYS[1]) or '0')
  if next > start then start = next end
  redis.call('SET', KEYS[1], start + wait, 'PX', start + wait - now + 1000)
end
return start - now
"""
)

_HOLD = (
    _NOW
    + """
local ms = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if now + ms > current then
  redis.call('SET', KEYS[1], now + ms, 'PX', ms + 1000)
end
return 0
"""
)


class RedisHostGate:
    """A HostGate held in Redis, shared by every process of a batch on every machine.

    `namespace` prefixes its keys (one batch's); `host_workers` and `wait` are the batch's
    --host-workers and --wait. A Redis error reaches the caller and is counted in `errors`,
    so a worker can tell a capture that failed because the gate could not be reached.
    """

    def __init__(
        self,
        client: redis.Redis,
        namespace: str,
        host_workers: int,
        wait: float,
        *,
        lease: float = LEASE,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.host_workers = max(1, host_workers)
        self.wait = max(0.0, wait)
        self.lease = lease
        self.errors = 0
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._reserve = client.register_script(_RESERVE)
        self._hold = client.register_script(_HOLD)
        self._lock = threading.Lock()
        self._held: dict[str, list[str]] = {}
        self._wake = threading.Event()
        self._renewer: threading.Thread | None = None

    def _key(self, kind: str, host: str) -> str:
        return f"{self.namespace}:{kind}:{host}"

    def _call(self, script: Any, keys: list[str], args: list[Any]) -> int:
        import redis

        try:
            return int(script(keys=keys, args=args))
        except redis.RedisError:
            self.errors += 1
            raise

    def acquire(self, host: str, timeout: float) -> bool:
        """Take one of `host`'s slots, waiting at most `timeout` seconds; False if none came."""
        token = uuid.uuid4().hex
        lease_ms = int(self.lease * 1000)
        deadline = time.monotonic() + timeout
        key = self._key("slots", host)
        while True:
            if self._call(self._acquire, [key], [token, self.host_workers, lease_ms]):
                with self._lock:
                    self._held.setdefault(host, []).append(token)
                    self._start_renewing()
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(POLL, left))

    def release(self, host: str) -> None:
        """Give back a slot taken with `acquire`."""
        with self._lock:
            tokens = self._held.get(host)
            if not tokens:
                return
            token = tokens.pop()
            if not tokens:
                del self._held[host]
        import redis

        try:
            self.client.zrem(self._key("slots", host), token)
        except redis.RedisError:
            # Its lease ends on its own: the slot comes back then.
            self.errors += 1

    def reserve(self, host: str) -> float:
        """Book the next request to `host`; return the seconds to wait before sending it."""
        keys = [self._key("next", host), self._key("hold", host)]
        return self._call(self._reserve, keys, [int(self.wait * 1000)]) / 1000

    def hold(self, host: str, seconds: float) -> None:
        """Send no request to `host` for `seconds`, as its Retry-After asked."""
        self._call(self._hold, [self._key("hold", host)], [max(0, int(seconds * 1000))])

    def _start_renewing(self) -> None:
        """Start the thread that renews this gate's leases, unless it runs (lock held)."""
        if self._renewer is not None and self._renewer.is_alive():
            return
        self._renewer = threading.Thread(
            target=self._renew_leases, name="preserve-gate-leases", daemon=True
        )
        self._renewer.start()

    def _renew_leases(self) -> None:
        """Renew every lease this gate holds each third of a lease; end when none is held."""
        import redis

        lease_ms = int(self.lease * 1000)
        while not self._wake.wait(self.lease / 3):
            with self._lock:
                held = {host: list(tokens) for host, tokens in self._held.items()}
                if not held:
                    self._renewer = None
                    return
            for host, tokens in held.items():
                try:
                    self._renew(keys=[self._key("slots", host)], args=[lease_ms, *tokens])
                except redis.RedisError:
                    self.errors += 1


class RedisRobotsStore:
    """A RobotsStore in one Redis hash: every worker of a batch reads each host's file once.

    Fields are the files' sources (their URLs); values JSON with the body in base64. An entry
    that cannot be read back, or a Redis error, counts as no file: the capture fetches
    robots.txt itself, as it would alone.
    """

    def __init__(self, client: redis.Redis, namespace: str, *, ttl: int = ROBOTS_TTL) -> None:
        self.client = client
        self.key = f"{namespace}:robots"
        self.ttl = ttl

    def get(self, source: str) -> RobotsFile | None:
        """Return the file fetched from `source`, or None when none was yet (or unreadable)."""
        import redis

        try:
            raw = self.client.hget(self.key, source)
        except redis.RedisError:
            return None
        if raw is None:
            return None
        return robots_from_json(raw, source)

    def put(self, file: RobotsFile) -> None:
        """Keep `file` for the batch's later captures, for a day after the last one put."""
        import redis

        body = file.body[:MAX_ROBOTS_BYTES] if file.body is not None else None
        entry = {
            "source": file.source,
            "status": file.status,
            "body": base64.b64encode(body).decode("ascii") if body is not None else None,
            "error": file.error,
            "refused": file.refused,
        }
        try:
            with self.client.pipeline() as pipe:
                pipe.hset(self.key, file.source, json.dumps(entry))
                pipe.expire(self.key, self.ttl)
                pipe.execute()
        except redis.RedisError:
            return


def robots_from_json(raw: bytes | str, source: str) -> RobotsFile | None:
    """Return the RobotsFile an entry of RedisRobotsStore holds, or None if it is not one."""
    try:
        entry = read_json(raw.encode() if isinstance(raw, str) else raw)
        body = entry["body"]
        status = entry["status"]
        error = entry["error"]
        if not (
            isinstance(entry, dict)
            and entry["source"] == source
            and (status is None or (isinstance(status, int) and not isinstance(status, bool)))
            and (body is None or isinstance(body, str))
            and (error is None or isinstance(error, str))
            and isinstance(entry["refused"], bool)
        ):
            return None
        data = base64.b64decode(body, validate=True) if body is not None else None
    except (ValueError, TypeError, KeyError, binascii.Error):
        return None
    if data is not None and len(data) > MAX_ROBOTS_BYTES:
        return None
    return RobotsFile(source, status, data, error, refused=entry["refused"])


@dataclass(frozen=True, slots=True)
class BatchKeys:
    """The Redis keys of one run of a batch (`batch` the batch's key, `run` the run's id)."""

    batch: str
    run: str

    @property
    def namespace(self) -> str:
        """Return the prefix of the batch's keys: its gate and robots.txt files live under it."""
        return f"preserve:batch:{self.batch}"

    @property
    def current(self) -> str:
        """Return the key naming the run now in charge of the batch."""
        return f"{self.namespace}:run"

    @property
    def outcomes(self) -> str:
        """Return the list the workers push this run's outcomes onto."""
        return f"{self.namespace}:{self.run}:outcomes"

    @property
    def cancelled(self) -> str:
        """Return the key set when this run is cancelled."""
        return f"{self.namespace}:{self.run}:cancelled"

    def tries(self, capture_id: str) -> str:
        """Return the counter of deliveries of the attempt `capture_id`."""
        return f"{self.namespace}:tries:{capture_id}"


def redacted(url: str) -> str:
    """Return `url` without its password, fit for a message."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{user}:<redacted>@{host}").geturl()


def broker_problem(url: str, exc: Exception) -> str:
    """Return the one line that says why the broker at `url` cannot be used."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"cannot use the broker at {redacted(url)}: {detail}"


def check_broker_url(url: str) -> None:
    """Raise BadInput unless `url` is a Redis URL: redis[s]://[[USER]:PASSWORD@]HOST[:PORT][/DB]."""
    shape = "redis://HOST:PORT/DB"
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    db = parts.path.lstrip("/")
    if (
        parts.scheme not in ("redis", "rediss")
        or not parts.hostname
        or port == -1
        or not (db == "" or (db.isascii() and db.isdigit() and len(db) <= 5))
        or parts.query
        or parts.fragment
    ):
        raise BadInput(f"--broker {redacted(url)!r} is not a Redis URL ({shape})")


def redis_client(url: str, *, check: bool = False) -> redis.Redis:
    """Return a Redis client for the broker `url`: bounded timeouts, retried connections.

    With `check`, Redis is asked once (PING, not retried: a broker that is not there is
    said at once). Raises BadInput (exit 2) for a URL that is not a Redis URL, or, with
    `check`, a Redis that cannot be reached or refuses us.
    """
    import redis
    from redis.backoff import ExponentialBackoff, NoBackoff
    from redis.retry import Retry

    check_broker_url(url)
    if check:
        probe = redis.Redis.from_url(url, socket_connect_timeout=5, retry=Retry(NoBackoff(), 0))
        try:
            probe.ping()
        except redis.RedisError as exc:
            raise BadInput(broker_problem(url, exc)) from exc
        finally:
            probe.close()
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=5,
        socket_timeout=30,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.1), 5),
    )
