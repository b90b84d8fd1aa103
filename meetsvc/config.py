"""Typed configuration, read once at start from a TOML file and ``MEETSVC_*`` variables.

Every key lives in a section (``[server] port``) and can be overridden by an environment variable
named after both (``MEETSVC_SERVER_PORT``). A wrong or missing value stops the service with a
message that names the key and what is wanted, before anything is opened: a service that starts
half-configured fails later, in front of a user.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal, Mapping

from meetsvc.notify.config import NotifySettings
from meetsvc.schedule.config import ScheduleSettings
from meetsvc.video.registry import VideoSettings
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ENV_PREFIX = "MEETSVC_"
# `make run` and the README promise this shortcut for the one value people change most.
PORT_SHORTCUT = "MEETSVC_PORT"
DEFAULT_CONFIG = Path("config/development.toml")


class ConfigError(Exception):
    """The configuration cannot be used; the message names each offending key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    public_url: str | None = Field(
        None,
        description="The address people reach the service at; invitation links start with it. "
        "Defaults to http://host:port.",
    )
    max_body_bytes: int = Field(65536, ge=1024, le=10 * 1024 * 1024)
    trusted_proxies: tuple[str, ...] = ()
    processes: int = Field(
        1,
        ge=1,
        le=64,
        description="Service processes `meetsvc serve` starts, on ports port .. port+processes-1 "
        "(see meetsvc.supervisor).",
    )

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class DatabaseSettings(_Section):
    url: str = Field(
        "sqlite+aiosqlite:///var/meetsvc.sqlite3",
        description="SQLAlchemy URL: sqlite+aiosqlite:///path or postgresql+asyncpg://…",
    )
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must be a sqlite+aiosqlite:// or postgresql+asyncpg:// URL")
        return value


class SecuritySettings(_Section):
    keys_dir: Path = Path("var/keys")
    create_missing_keys: bool = Field(
        False,
        description="Generate keys that are missing at start (development only).",
    )
    secure_cookies: bool = True


class MeetingSettings(_Section):
    max_participants: int = Field(20, ge=2, le=100)
    min_duration_minutes: int = Field(15, ge=5, le=240)
    max_duration_minutes: int = Field(480, ge=15, le=1440)
    max_days_ahead: int = Field(400, ge=1, le=3650)
    time_zone: Literal["Europe/Stockholm"] = "Europe/Stockholm"


class SessionSettings(_Section):
    idle_minutes: int = Field(30, ge=5, le=240)
    absolute_hours: int = Field(10, ge=1, le=24)


class IdentitySettings(_Section):
    provider: Literal["bankid-simulator", "bankid"] = "bankid"
    starts_per_invitation: int = Field(5, ge=1, le=100)
    starts_per_address: int = Field(30, ge=1, le=10000)
    rate_window_minutes: int = Field(10, ge=1, le=1440)
    collect_interval_seconds: float = Field(2.0, ge=0.05, le=10.0)


class BankIdSettings(_Section):
    url: str = "https://appapi2.test.bankid.com/rp/v6.0"
    client_cert: Path | None = None
    client_key: Path | None = None
    key_password: str | None = Field(None, repr=False)
    ca_cert: Path | None = None
    request_timeout_seconds: float = Field(10.0, gt=0, le=60)

    @field_validator("key_password")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("BankID is reached over HTTPS only")
        return value.rstrip("/")


class SimulatorSettings(_Section):
    certs_dir: Path = Path("var/bankid-simulator")
    host: str = "127.0.0.1"
    api_port: int = Field(0, ge=0, le=65535)
    app_port: int = Field(8081, ge=0, le=65535)


class WaitingRoomSettings(_Section):
    opens_minutes_before: int = Field(15, ge=0, le=240)
    ticket_minutes: int = Field(180, ge=5, le=720)
    video_credential_minutes: int = Field(5, ge=1, le=60)


class RealtimeSettings(_Section):
    websocket_compression: bool = False
    max_message_bytes: int = Field(16384, ge=1024, le=1048576)
    redis_url: str | None = None
    redis_channel: str = Field(
        "meetsvc",
        pattern=r"^[A-Za-z0-9_.:-]{1,100}$",
        description="The Redis pub/sub channel of this deployment: deployments (or test runs) sharing "
        "one Redis must not hear each other's notices.",
    )

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://")):
            raise ValueError("must be a redis:// or rediss:// URL")
        return value or None


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "text"] = "json"


class Settings(_Section):
    environment: Literal["development", "production"] = "production"
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    security: SecuritySettings = SecuritySettings()
    meetings: MeetingSettings = MeetingSettings()
    sessions: SessionSettings = SessionSettings()
    identity: IdentitySettings = IdentitySettings()
    bankid: BankIdSettings = BankIdSettings()
    simulator: SimulatorSettings = SimulatorSettings()
    waiting_room: WaitingRoomSettings = WaitingRoomSettings()
    realtime: RealtimeSettings = RealtimeSettings()
    video: VideoSettings = VideoSettings()
    notify: NotifySettings = NotifySettings()
    schedule: ScheduleSettings = ScheduleSettings()
    logging: LoggingSettings = LoggingSettings()

    @model_validator(mode="after")
    def _bankid_files(self) -> "Settings":
        if self.identity.provider == "bankid":
            missing = [k for k in ("client_cert", "client_key", "ca_cert") if getattr(self.bankid, k) is None]
            if missing:
                raise ValueError(
                    "identity.provider = \"bankid\" needs " + ", ".join(f"bankid.{k}" for k in missing)
                )
        if self.identity.provider == "bankid-simulator" and not self.is_development:
            raise ValueError("identity.provider = \"bankid-simulator\" is for development only")
        if not self.is_development and self.notify.production_problems():
            raise ValueError("; ".join(self.notify.production_problems()))
        return self

    @model_validator(mode="after")
    def _several_processes(self) -> "Settings":
        """Processes share only what lives outside them: a SQLite file cannot be shared safely
        and the in-process socket.io manager reaches only its own process's sockets."""
        processes = self.server.processes
        if processes == 1:
            return self
        problems = []
        if not self.database.url.startswith("postgresql+asyncpg://"):
            problems.append("a PostgreSQL database.url (SQLite cannot be shared between processes)")
        if self.realtime.redis_url is None:
            problems.append(
                "realtime.redis_url (in-process socket.io fan-out reaches one process's sockets only: "
                "a host and a participant on different processes would not hear each other)"
            )
        if problems:
            raise ValueError(f"server.processes = {processes} needs " + " and ".join(problems))
        if self.server.port + processes - 1 > 65535:
            raise ValueError(f"server.processes = {processes} from server.port = {self.server.port} runs past port 65535")
        return self

    @property
    def is_development(self) -> bool:
        return self.environment == "development"


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Map MEETSVC_SECTION_KEY variables onto the nested structure of :class:`Settings`."""
    overrides: dict[str, Any] = {}
    if PORT_SHORTCUT in environ:
        overrides.setdefault("server", {})["port"] = environ[PORT_SHORTCUT]
    if f"{ENV_PREFIX}ENVIRONMENT" in environ:
        overrides["environment"] = environ[f"{ENV_PREFIX}ENVIRONMENT"]
    for section, field in Settings.model_fields.items():
        model = field.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        for key, key_field in model.model_fields.items():
            name = f"{ENV_PREFIX}{section}_{key}".upper()
            if name in environ:
                value: Any = environ[name]
                if getattr(key_field.annotation, "__origin__", None) is tuple:
                    value = [item.strip() for item in value.split(",") if item.strip()]
                overrides.setdefault(section, {})[key] = value
    return overrides


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        env = f"{ENV_PREFIX}{'_'.join(str(p) for p in item['loc'])}".upper()
        if item["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key (check the spelling against config/production.example.toml)")
        elif not item["loc"]:
            lines.append(f"  {item['msg'].removeprefix('Value error, ')}")
        elif any(word in key for word in ("password", "url")):
            # May hold credentials: name the key, never echo the value.
            lines.append(f"  {key} (or {env}): {item['msg']}")
        else:
            lines.append(f"  {key} (or {env}): {item['msg']}, got {item.get('input')!r}")
    return "invalid configuration:\n" + "\n".join(lines)


def load_settings(
    path: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read the TOML file (``MEETSVC_CONFIG`` or the development default) and the environment."""
    environ = os.environ if environ is None else environ
    chosen = Path(path or environ.get(f"{ENV_PREFIX}CONFIG") or DEFAULT_CONFIG)
    try:
        data = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"configuration file {chosen} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file {chosen} is not valid TOML: {exc}") from None
    try:
        return Settings.model_validate(_merge(data, _env_overrides(environ)))
    except ValidationError as exc:
        raise ConfigError(f"{chosen}: {_describe(exc)}") from None
