"""Typed configuration, read once at start from a TOML file and ``MEETSVC_*`` variables.

Every key, at any depth, can be set by an environment variable: ``MEETSVC_`` and the key's
path with each dot written as a double underscore (``server.port`` is ``MEETSVC_SERVER__PORT``,
``notify.smtp.host`` is ``MEETSVC_NOTIFY__SMTP__HOST``). The keys of a top-level section may also
be written with one underscore (``MEETSVC_SERVER_PORT``), as deployments did before nested keys
could be set; ``MEETSVC_PORT`` is the development shortcut for ``server.port``. The environment
wins over the file. A wrong key or value, in the file or the environment, stops the service with
a message that names it and what is wanted, before anything is opened: a service that starts
half-configured fails later, in front of a user.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)
from pydantic_settings.sources.utils import parse_env_vars

from meetsvc.notify.config import NotifySettings
from meetsvc.schedule.config import ScheduleSettings
from meetsvc.video.registry import VideoSettings

ENV_PREFIX = "MEETSVC_"
# One delimiter for every depth: single underscores already occur inside key names.
ENV_NESTED_DELIMITER = "__"
# `make run` and the README promise this shortcut for the one value people change most.
PORT_SHORTCUT = "MEETSVC_PORT"
CONFIG_VARIABLE = "MEETSVC_CONFIG"
# Variables of the test suite and its tools, never read by the service: a developer's shell that
# sets them must still start it.
NOT_SETTINGS_PREFIXES = ("MEETSVC_TEST_", "MEETSVC_SCHEMATHESIS_")
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
    metrics_allow: tuple[str, ...] = Field(
        ("127.0.0.1", "::1"),
        description="Addresses or networks (CIDR) allowed to read /metrics; others get 403. "
        "Loopback only by default: the figures are for monitoring, not the public.",
    )
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

    @field_validator("metrics_allow")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network (such as 10.0.0.0/8)") from None
        return value

    @property
    def metrics_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in self.metrics_allow)

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
        description="Generate keys that are missing at start (development only; refused in production).",
    )
    secure_cookies: bool = Field(True, description="Mark cookies Secure; false is refused in production.")


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


class OidcProviderSettings(_Section):
    """One organisation's OpenID Connect provider for staff sign-in (docs/identity.md)."""

    name: str = Field(
        pattern=r"^[a-z0-9-]{1,40}$", description="Short name in the sign-in page's form and the audit log."
    )
    organisation: str = Field(min_length=1, description="The organisation (id or name) whose staff sign in here.")
    profile: Literal["inera-siths", "organisation-idp"]
    issuer: str
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1, repr=False)
    match_by: Literal["personal_number", "hsa_id"] = "personal_number"
    acr_values: tuple[str, ...] | None = None
    accept_loa2: bool = False
    scopes: tuple[str, ...] | None = None
    personal_number_claim: str | None = None
    hsa_id_claim: str | None = None

    @field_validator("issuer")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be the provider's https:// issuer URL")
        return value

    @model_validator(mode="after")
    def _loa2_for_siths(self) -> OidcProviderSettings:
        if self.accept_loa2 and self.profile != "inera-siths":
            raise ValueError('accept_loa2 is for profile = "inera-siths" only (name the values in acr_values)')
        return self


class StaffSignInSettings(_Section):
    oidc: tuple[OidcProviderSettings, ...] = ()
    oidc_minutes: int = Field(10, ge=1, le=60)

    @field_validator("oidc")
    @classmethod
    def _unique_names(cls, value: tuple[OidcProviderSettings, ...]) -> tuple[OidcProviderSettings, ...]:
        names = [provider.name for provider in value]
        if len(names) != len(set(names)):
            raise ValueError("each provider needs a name of its own")
        return value


class SimulatorSettings(_Section):
    certs_dir: Path = Path("var/bankid-simulator")
    host: str = "127.0.0.1"
    api_port: int = Field(0, ge=0, le=65535)
    app_port: int = Field(8081, ge=0, le=65535)


class FrejaSettings(_Section):
    """Freja eID beside BankID: off unless enabled; in development ``use_simulator`` starts the
    built-in Freja simulator instead of reaching Freja (see docs/identity.md)."""

    enabled: bool = False
    use_simulator: bool = False
    url: str = "https://services.test.frejaeid.com"
    client_cert: Path | None = None
    client_key: Path | None = None
    key_password: str | None = Field(None, repr=False)
    ca_cert: Path | None = None
    signing_cert: Path | None = None
    min_registration_level: Literal["EXTENDED", "PLUS"] = "PLUS"
    request_timeout_seconds: float = Field(10.0, gt=0, le=60)
    # Organisation ids whose participants are offered Freja eID; empty: every organisation's.
    # Staff of every organisation may sign in with it once it is enabled.
    organisations: list[str] = []

    def offered_to(self, organisation_id: str) -> bool:
        return self.enabled and (not self.organisations or organisation_id in self.organisations)

    @field_validator("key_password")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("Freja eID is reached over HTTPS only")
        return value.rstrip("/")


class FrejaSimulatorSettings(_Section):
    certs_dir: Path = Path("var/freja-simulator")
    host: str = "127.0.0.1"
    api_port: int = Field(0, ge=0, le=65535)
    app_port: int = Field(8082, ge=0, le=65535)


class WaitingRoomSettings(_Section):
    opens_minutes_before: int = Field(15, ge=0, le=240)
    ticket_minutes: int = Field(180, ge=5, le=720)
    video_credential_minutes: int = Field(5, ge=1, le=60)


class RealtimeSettings(_Section):
    websocket_compression: bool = False
    max_message_bytes: int = Field(16384, ge=1024, le=1048576)
    unjoined_seconds: float = Field(
        10,
        ge=1,
        le=300,
        description="A socket that has not joined a namespace (shown a ticket or a session) this many "
        "seconds after connecting is closed (see meetsvc.realtime.bounds).",
    )
    connections_per_address: int = Field(
        200,
        ge=1,
        le=100000,
        description="Most sockets open at once from one client address (the forwarded one only from "
        "server.trusted_proxies); further ones are refused at the handshake.",
    )
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


class DemoSettings(_Section):
    seed: bool = Field(
        False,
        description="Prepare a demo meeting to walk through at start (development only): see meetsvc.services.demo.",
    )


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "text"] = "json"


class Settings(BaseSettings):
    """The whole configuration. Built by :func:`load_settings`, which reads the file and the
    environment; constructing it directly reads neither, so a test's settings are only its own."""

    model_config = SettingsConfigDict(
        extra="forbid",
        frozen=True,
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        case_sensitive=False,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)

    # Production unless a configuration says otherwise (config/development.toml does): a missing
    # line must never switch the refusals of :meth:`production_problems` off.
    environment: Literal["development", "production"] = "production"
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    security: SecuritySettings = SecuritySettings()
    meetings: MeetingSettings = MeetingSettings()
    sessions: SessionSettings = SessionSettings()
    identity: IdentitySettings = IdentitySettings()
    bankid: BankIdSettings = BankIdSettings()
    staff_sign_in: StaffSignInSettings = StaffSignInSettings()
    simulator: SimulatorSettings = SimulatorSettings()
    freja: FrejaSettings = FrejaSettings()
    freja_simulator: FrejaSimulatorSettings = FrejaSimulatorSettings()
    waiting_room: WaitingRoomSettings = WaitingRoomSettings()
    realtime: RealtimeSettings = RealtimeSettings()
    video: VideoSettings = VideoSettings()
    notify: NotifySettings = NotifySettings()
    schedule: ScheduleSettings = ScheduleSettings()
    logging: LoggingSettings = LoggingSettings()
    demo: DemoSettings = DemoSettings()

    @model_validator(mode="after")
    def _fit_for_environment(self) -> Settings:
        """Every setting that production refuses is named at once, so one start shows all that is wrong."""
        problems = []
        if self.identity.provider == "bankid":
            missing = [k for k in ("client_cert", "client_key", "ca_cert") if getattr(self.bankid, k) is None]
            if missing:
                problems.append('identity.provider = "bankid" needs ' + ", ".join(f"bankid.{k}" for k in missing))
        if self.freja.enabled and not self.freja.use_simulator:
            keys = ("client_cert", "client_key", "ca_cert", "signing_cert")
            missing = [k for k in keys if getattr(self.freja, k) is None]
            if missing:
                problems.append("freja.enabled needs " + ", ".join(f"freja.{k}" for k in missing))
        if not self.is_development:
            problems += self.production_problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def production_problems(self) -> list[str]:
        """What production (``environment = "production"``, the default) refuses: the conveniences
        of development that would hand out links over plain HTTP, cookies a network can read, or
        keys nobody created on purpose."""
        problems = []
        if self.identity.provider == "bankid-simulator":
            problems.append('identity.provider = "bankid-simulator" is for development only')
        problems += [
            f"staff_sign_in.oidc {provider.name!r}: issuer must start with https:// in production"
            for provider in self.staff_sign_in.oidc
            if not provider.issuer.startswith("https://")
        ]
        if self.freja.enabled and self.freja.use_simulator:
            problems.append("freja.use_simulator = true is for development only")
        if self.security.create_missing_keys:
            problems.append(
                "security.create_missing_keys = true is for development only: production never makes keys "
                "at start (a new key makes stored data unreadable); create them once with `meetsvc keys init`"
            )
        if not self.security.secure_cookies:
            problems.append(
                "security.secure_cookies = false is for development only: production cookies are Secure (HTTPS only)"
            )
        if self.server.public_url is None:
            problems.append(
                "server.public_url must be set in production, to the https:// address people reach the service at"
            )
        elif not self.server.public_url.startswith("https://"):
            problems.append(
                "server.public_url must start with https:// in production: invitation links and sign-ins "
                "must not travel in clear"
            )
        return problems + self.notify.production_problems()

    @model_validator(mode="after")
    def _demo_in_development(self) -> Settings:
        """The demo signs people in with the simulator's test persons: never in production."""
        if self.demo.seed and not self.is_development:
            raise ValueError("demo.seed is for development only")
        return self

    @model_validator(mode="after")
    def _several_processes(self) -> Settings:
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
            raise ValueError(
                f"server.processes = {processes} from server.port = {self.server.port} runs past port 65535"
            )
        return self

    @property
    def is_development(self) -> bool:
        return self.environment == "development"


# The environment -------------------------------------------------------------------------------

KeyPath = tuple[str, ...]
# Keys whose values may hold credentials (by how their names end): the messages name them but
# never echo their values.
_SECRET_ENDINGS = ("password", "url", "token", "secret", "_key")


def _model_of(annotation: object) -> type[BaseModel] | None:
    """The settings model behind a field: ``Model`` or ``Model | None``; None for a plain value."""
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    candidates = typing.get_args(annotation) if union else (annotation,)
    models = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
    return models[0] if models else None


def setting_paths(model: type[BaseModel] = Settings, prefix: KeyPath = ()) -> list[KeyPath]:
    """Every key that holds a value (not a table), at every depth: ``("notify", "smtp", "host")``."""
    found: list[KeyPath] = []
    for name, field in model.model_fields.items():
        sub = _model_of(field.annotation)
        found += setting_paths(sub, (*prefix, name)) if sub is not None else [(*prefix, name)]
    return found


def _field_at(path: KeyPath) -> FieldInfo | None:
    """The field a key path names (a value or a table), or None if there is no such key."""
    model: type[BaseModel] | None = Settings
    field: FieldInfo | None = None
    for part in path:
        if model is None or part not in model.model_fields:
            return None
        field = model.model_fields[part]
        model = _model_of(field.annotation)
    return field


def environment_name(path: KeyPath) -> str:
    """The variable that sets ``path``: ``("notify", "smtp", "host")`` is ``MEETSVC_NOTIFY__SMTP__HOST``."""
    return ENV_PREFIX + ENV_NESTED_DELIMITER.join(path).upper()


def _aliases() -> dict[str, KeyPath]:
    """``MEETSVC_<SECTION>_<KEY>`` for the values of each top-level section, as read before nested
    keys could be set. Built from the fields, so no two can clash."""
    return {f"{ENV_PREFIX}{'_'.join(path)}".upper(): path for path in setting_paths() if len(path) == 2}


def environment_names(path: KeyPath) -> tuple[str, ...]:
    """Every variable that sets ``path``: the nested name first, then the alias and the shortcut."""
    names = [environment_name(path)]
    names += [alias for alias, target in _aliases().items() if target == path and alias not in names]
    if path == ("server", "port"):
        names.append(PORT_SHORTCUT)
    return tuple(names)


def _path_of(name: str) -> KeyPath | None:
    """The key a ``MEETSVC_`` variable sets, or None if it names none."""
    if name in (aliases := _aliases()):
        return aliases[name]
    if name != name.upper():
        return None
    path = tuple(part.lower() for part in name.removeprefix(ENV_PREFIX).split(ENV_NESTED_DELIMITER))
    return path if all(path) and _field_at(path) is not None else None


def with_variable(environ: Mapping[str, str], name: str, value: str) -> dict[str, str]:
    """``environ`` with ``name`` set to ``value`` and every other spelling of its key removed: a
    process started with it reads ``value``, whichever spelling its parent's environment used."""
    path = _path_of(name) if name != PORT_SHORTCUT else ("server", "port")
    if path is None:
        raise ValueError(f"{name} names no configuration key")
    others = set(environment_names(path)) - {name}
    return {**{key: val for key, val in environ.items() if key not in others}, name: value}


def _unknown(name: str) -> str:
    """The message for a variable that names no key, with the right spelling when it is a near miss."""
    spelled = {"_".join(path).upper(): path for path in setting_paths()}
    guess = spelled.get(name.removeprefix(ENV_PREFIX).replace(ENV_NESTED_DELIMITER, "_"))
    example = (*guess, environment_name(guess)) if guess else ("notify.smtp.host", "MEETSVC_NOTIFY__SMTP__HOST")
    return (
        f"  {name}: names no configuration key (check the spelling against config/production.example.toml; "
        f'each dot of a key is "{ENV_NESTED_DELIMITER}": {".".join(example[:-1])} is {example[-1]})'
    )


class _EnvironmentSource(EnvSettingsSource):
    """pydantic-settings' reading of nested variables, over a given mapping rather than
    ``os.environ``, so that tests and the supervisor can say exactly what a process sees."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(Settings)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        # Lists (server.trusted_proxies, notify.reminders_minutes_before) have always been
        # written comma-separated; a JSON array is taken too.
        if (
            field is not None
            and typing.get_origin(field.annotation) is tuple
            and not str(value).lstrip().startswith("[")
        ):
            return [item.strip() for item in str(value).split(",") if item.strip()]
        return super().decode_complex_value(field_name, field, value)


def _read_environment(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[KeyPath, str]]:
    """The ``MEETSVC_*`` variables as a nested mapping to lay over the file, and which variable
    set each key (for the messages). Raises :class:`ConfigError` naming every variable that sets
    no key, or that contradicts another spelling of the same key."""
    problems: list[str] = []
    chosen: dict[KeyPath, tuple[str, str]] = {}
    for name, value in sorted(environ.items()):
        if (
            not name.startswith(ENV_PREFIX)
            or name in (CONFIG_VARIABLE, PORT_SHORTCUT)
            or name.startswith(NOT_SETTINGS_PREFIXES)
        ):
            continue
        path = _path_of(name)
        if path is None:
            problems.append(_unknown(name))
        elif path in chosen and chosen[path][1] != value:
            problems.append(f"  {chosen[path][0]} and {name} both set {'.'.join(path)}, differently: keep one")
        else:
            chosen.setdefault(path, (name, value))
    if problems:
        raise ConfigError("invalid environment:\n" + "\n".join(problems))
    # The shortcut is the weakest spelling: a full name given beside it wins.
    if PORT_SHORTCUT in environ and ("server", "port") not in chosen:
        chosen[("server", "port")] = (PORT_SHORTCUT, environ[PORT_SHORTCUT])
    canonical = {environment_name(path): value for path, (_, value) in chosen.items()}
    try:
        values = _EnvironmentSource(canonical)()
    except SettingsError as exc:
        field = str(exc).split('"')[1] if '"' in str(exc) else ""
        names = ", ".join(name for path, (name, _) in chosen.items() if path[0] == field) or "the environment"
        raise ConfigError(f"invalid environment:\n  {names}: cannot be read ({exc.__cause__ or exc})") from None
    return values, {path: name for path, (name, _) in chosen.items()}


# Reading and reporting -------------------------------------------------------------------------


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _describe(error: ValidationError, origins: Mapping[KeyPath, str]) -> str:
    lines = []
    for item in error.errors():
        loc = tuple(str(part) for part in item["loc"])
        key = ".".join(loc) or "(top level)"
        path = next((loc[:n] for n in range(len(loc), 0, -1) if loc[:n] in origins), None)
        field = _field_at(loc)
        if path is not None:
            where = f" (from {origins[path]})"
        elif field is not None and _model_of(field.annotation) is None:
            where = f" (or {', '.join(environment_names(loc)[:2])})"
        else:
            where = ""
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            source = f" set by {origins[loc]}" if loc in origins else ""
            lines.append(f"  {key}: unknown key{source} (check the spelling against config/production.example.toml)")
        elif not item["loc"]:
            lines.append(f"  {message}")
        elif isinstance(item.get("input"), dict | list | tuple) or key.endswith(_SECRET_ENDINGS):
            # A whole table or array (it may hold credentials, as staff_sign_in.oidc's entries do),
            # or a value that may hold credentials: name the key, never echo the value.
            lines.append(f"  {key}{where}: {message}")
        else:
            lines.append(f"  {key}{where}: {message}, got {item.get('input')!r}")
    return "invalid configuration:\n" + "\n".join(lines)


def load_settings(
    path: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read the TOML file (``MEETSVC_CONFIG`` or the development default) and the environment."""
    environ = os.environ if environ is None else environ
    chosen = Path(path or environ.get(CONFIG_VARIABLE) or DEFAULT_CONFIG)
    try:
        data = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"configuration file {chosen} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file {chosen} is not valid TOML: {exc}") from None
    overrides, origins = _read_environment(environ)
    try:
        return Settings.model_validate(_merge(data, overrides))
    except ValidationError as exc:
        raise ConfigError(f"{chosen}: {_describe(exc, origins)}") from None
