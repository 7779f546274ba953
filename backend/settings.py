"""Typed settings read once from the environment.

Everything configurable lives here so that the composition root (``backend.bootstrap``) is the
only place that reads ``os.environ``. When ``DATABASE_URL`` or ``S3_ENDPOINT`` is unset the
server runs on the *embedded default*: a private PostgreSQL and a SeaweedFS ``weed mini`` under
``GRIDLEDGER_VAR_DIR`` (``./var``), started and stopped by ``gridledger serve``.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from events.business_date import DEFAULT_BUSINESS_ZONE, business_zone
from events.errors import InvalidValue

__all__ = ["Settings", "load_settings"]


@dataclass(frozen=True, kw_only=True)
class Settings:
    database_url: str | None
    """``DATABASE_URL``: external PostgreSQL 15+ (``postgresql://user:pw@host:port/db``)."""
    database_owner_url: str | None = None
    """``DATABASE_OWNER_URL``: the role that owns the event table and runs migrations, when
    ``DATABASE_URL`` is the application's role (SELECT + INSERT only on events; see
    docs/evidence.md). Unset with an external database: the same URL, and immutability of the
    log is then only the trigger (a warning says so). The embedded default makes both roles."""
    s3_endpoint: str | None
    """``S3_ENDPOINT``: external S3/MinIO (``http://host:port``)."""
    s3_access_key: str
    """``S3_ACCESS_KEY``: S3 access key (embedded default: a fixed local key)."""
    s3_secret_key: str
    """``S3_SECRET_KEY``: S3 secret key."""
    s3_bucket: str = "gridledger"
    """``GRIDLEDGER_S3_BUCKET``: bucket for photos and exports."""
    var_dir: Path = Path("var")
    """``GRIDLEDGER_VAR_DIR``: where the embedded PostgreSQL and S3 keep their data."""
    host: str = "127.0.0.1"
    """``GRIDLEDGER_HOST``: interface the API binds to."""
    port: int = 8000
    """``GRIDLEDGER_PORT``: API port."""
    pg_port: int = 55432
    """``GRIDLEDGER_PG_PORT``: port of the embedded PostgreSQL (loopback only)."""
    s3_port: int = 58333
    """``GRIDLEDGER_S3_PORT``: S3 port of the embedded SeaweedFS (loopback only)."""
    token_secret: bytes = field(repr=False, default=b"")
    """``GRIDLEDGER_TOKEN_SECRET``: HMAC key for access tokens (embedded: generated under var/)."""
    openid_pepper: bytes = field(repr=False, default=b"")
    """``GRIDLEDGER_OPENID_PEPPER``: HMAC key for hashing WeChat openids at rest."""
    wechat_base_url: str = "https://api.weixin.qq.com"
    """``GRIDLEDGER_WECHAT_BASE_URL``: code2Session base URL (tests point it at a stand-in)."""
    wechat_appid: str = ""
    """``GRIDLEDGER_WECHAT_APPID``: mini-program AppID."""
    wechat_secret: str = field(repr=False, default="")
    """``GRIDLEDGER_WECHAT_SECRET``: mini-program AppSecret (never leaves the server)."""
    dev_login: bool = False
    """``GRIDLEDGER_DEV_LOGIN``: serves ``/v1/auth/dev-login`` (log in as any staff id without
    WeChat). On by default on the embedded default, off otherwise; never served when either
    service is external, whatever this says."""
    max_body_bytes: int = 1_048_576
    """``GRIDLEDGER_MAX_BODY_BYTES``: limit for JSON bodies."""
    max_import_bytes: int = 20 * 1_048_576
    """``GRIDLEDGER_MAX_IMPORT_BYTES``: limit for ledger import files."""
    max_media_bytes: int = 20 * 1_048_576
    """``GRIDLEDGER_MAX_MEDIA_BYTES``: limit for a photo upload (the whole multipart body)."""
    log_origin: str = "gridledger.local/evidence-log"
    """``GRIDLEDGER_LOG_ORIGIN``: the evidence log's name in its checkpoints (and the default
    name of a generated signing key)."""
    log_key_file: Path | None = None
    """``GRIDLEDGER_LOG_KEY_FILE``: signed-note keys, one per line: ``PRIVATE+KEY+...`` signing
    keys (the last one is active; append a new one to rotate) and verifier keys of retired ones.
    Unset and no ``GRIDLEDGER_LOG_SIGNING_KEY``: a key is generated once under var/secrets/."""
    log_signing_key: str = field(repr=False, default="")
    """``GRIDLEDGER_LOG_SIGNING_KEY``: the active signing key (overrides the key file's)."""
    log_verifier_keys: tuple[str, ...] = ()
    """``GRIDLEDGER_LOG_VERIFIER_KEYS``: extra verifier keys of retired signing keys (``;``)."""
    checkpoint_every_leaves: int = 1000
    """``GRIDLEDGER_CHECKPOINT_EVERY_LEAVES``: sign a checkpoint after this many new leaves."""
    checkpoint_seconds: float = 60.0
    """``GRIDLEDGER_CHECKPOINT_SECONDS``: or after this long, if anything was sealed meanwhile."""
    metrics_token: str = field(repr=False, default="")
    """``GRIDLEDGER_METRICS_TOKEN``: bearer token a Prometheus scraper presents at ``/metrics``
    (``authorization: {credentials: ...}``); unset, only admin/supervisor access tokens work."""
    max_export_rows: int = 50_000
    """``GRIDLEDGER_MAX_EXPORT_ROWS``: most rows one export may hold (41370 beyond)."""
    refresh_reuse_grace_seconds: float = 60.0
    """``GRIDLEDGER_REFRESH_REUSE_GRACE_SECONDS``: how long a spent refresh token, presented
    again, still yields the same successor (a phone that lost the refresh response); after
    that a reuse revokes the session (40192)."""
    body_idle_seconds: float = 60.0
    """``GRIDLEDGER_BODY_IDLE_SECONDS``: longest pause between two pieces of a request body,
    and the head start before the minimum rate applies (408 / 40892 beyond)."""
    body_min_bytes_per_second: int = 1024
    """``GRIDLEDGER_BODY_MIN_BYTES_PER_SECOND``: slowest average body rate accepted after the
    head start: 8 kbit/s, a third of a weak 2G (GPRS) uplink, where a 10 MB photo at 20 kbit/s
    takes ~70 min and passes; a slowloris trickling bytes does not."""
    body_deadline_seconds: float = 7200.0
    """``GRIDLEDGER_BODY_DEADLINE_SECONDS``: longest any request body may take in total (a
    10 MB photo needs ~11.7 kbit/s to make it; the 20 MB limit ~23 kbit/s)."""
    business_timezone: str = DEFAULT_BUSINESS_ZONE
    """``GRIDLEDGER_BUSINESS_TIMEZONE``: the IANA zone every business date is decided in
    (today's date, default effective dates, award and points days, a visit's day, periods,
    SLA working days, the board). Instants stay UTC. Read models fold dates in it, so a
    change needs ``gridledger projections rebuild``."""

    @property
    def business_zone(self) -> ZoneInfo:
        return business_zone(self.business_timezone)

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def embedded_s3(self) -> bool:
        return self.s3_endpoint is None

    @property
    def embedded(self) -> bool:
        """True when both services are the private embedded ones (dev login allowed)."""
        return self.embedded_database and self.embedded_s3


def _secret(env: dict[str, str], name: str, var_dir: Path) -> bytes:
    """An explicit secret, or one generated once and kept under var/ for the embedded default."""
    if value := env.get(name):
        return value.encode()
    path = var_dir / "secrets" / name.lower()
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    value_bytes = secrets.token_hex(32).encode()
    path.write_bytes(value_bytes)
    path.chmod(0o600)
    return value_bytes


def _flag(value: str | None, *, default: bool) -> bool:
    if value is None or not value.strip():
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_settings(env: dict[str, str] | None = None) -> Settings:
    e = dict(os.environ if env is None else env)
    var_dir = Path(e.get("GRIDLEDGER_VAR_DIR", "var")).resolve()
    return Settings(
        database_url=e.get("DATABASE_URL") or None,
        database_owner_url=e.get("DATABASE_OWNER_URL") or None,
        s3_endpoint=e.get("S3_ENDPOINT") or None,
        s3_access_key=e.get("S3_ACCESS_KEY", "gridledger"),
        s3_secret_key=e.get("S3_SECRET_KEY", "gridledger-local-secret"),
        s3_bucket=e.get("GRIDLEDGER_S3_BUCKET", "gridledger"),
        var_dir=var_dir,
        host=e.get("GRIDLEDGER_HOST", "127.0.0.1"),
        port=int(e.get("GRIDLEDGER_PORT", "8000")),
        pg_port=int(e.get("GRIDLEDGER_PG_PORT", "55432")),
        s3_port=int(e.get("GRIDLEDGER_S3_PORT", "58333")),
        token_secret=_secret(e, "GRIDLEDGER_TOKEN_SECRET", var_dir),
        openid_pepper=_secret(e, "GRIDLEDGER_OPENID_PEPPER", var_dir),
        wechat_base_url=e.get("GRIDLEDGER_WECHAT_BASE_URL", "https://api.weixin.qq.com"),
        wechat_appid=e.get("GRIDLEDGER_WECHAT_APPID", ""),
        wechat_secret=e.get("GRIDLEDGER_WECHAT_SECRET", ""),
        dev_login=_flag(
            e.get("GRIDLEDGER_DEV_LOGIN"),
            default=not e.get("DATABASE_URL") and not e.get("S3_ENDPOINT"),
        ),
        max_body_bytes=int(e.get("GRIDLEDGER_MAX_BODY_BYTES", str(1_048_576))),
        max_import_bytes=int(e.get("GRIDLEDGER_MAX_IMPORT_BYTES", str(20 * 1_048_576))),
        max_media_bytes=int(e.get("GRIDLEDGER_MAX_MEDIA_BYTES", str(20 * 1_048_576))),
        log_origin=e.get("GRIDLEDGER_LOG_ORIGIN") or "gridledger.local/evidence-log",
        log_key_file=Path(key_file) if (key_file := e.get("GRIDLEDGER_LOG_KEY_FILE")) else None,
        log_signing_key=e.get("GRIDLEDGER_LOG_SIGNING_KEY", ""),
        log_verifier_keys=tuple(
            k.strip() for k in e.get("GRIDLEDGER_LOG_VERIFIER_KEYS", "").split(";") if k.strip()
        ),
        checkpoint_every_leaves=int(e.get("GRIDLEDGER_CHECKPOINT_EVERY_LEAVES", "1000")),
        checkpoint_seconds=float(e.get("GRIDLEDGER_CHECKPOINT_SECONDS", "60")),
        metrics_token=e.get("GRIDLEDGER_METRICS_TOKEN", ""),
        max_export_rows=int(e.get("GRIDLEDGER_MAX_EXPORT_ROWS", "50000")),
        refresh_reuse_grace_seconds=float(e.get("GRIDLEDGER_REFRESH_REUSE_GRACE_SECONDS", "60")),
        body_idle_seconds=float(e.get("GRIDLEDGER_BODY_IDLE_SECONDS", "60")),
        body_min_bytes_per_second=int(e.get("GRIDLEDGER_BODY_MIN_BYTES_PER_SECOND", "1024")),
        body_deadline_seconds=float(e.get("GRIDLEDGER_BODY_DEADLINE_SECONDS", "7200")),
        business_timezone=_zone_name(e.get("GRIDLEDGER_BUSINESS_TIMEZONE")),
    )


def _zone_name(value: str | None) -> str:
    """The configured zone's name, checked now so a typo stops the start, not a request."""
    if value is None or not value.strip():
        return DEFAULT_BUSINESS_ZONE
    try:
        return business_zone(value).key
    except InvalidValue as err:
        raise ValueError(f"GRIDLEDGER_BUSINESS_TIMEZONE: {err.errmsg}") from None
