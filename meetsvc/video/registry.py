"""Choosing the video backend from the ``[video]`` configuration section.

::

    [video]
    backend = "livekit"          # builtin | jitsi | livekit | vidicue

    [video.livekit]              # the chosen backend's own table, one typed model each
    url = "https://livekit.example.se"
    ...

Each table is validated by its adapter's model (unknown keys are errors), and only the chosen
backend's table is required. :func:`create_backend` may read secret files, so call it once at
start, off the event loop (``await asyncio.to_thread(create_backend, section, ...)``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import aiohttp
from pydantic import model_validator

from meetsvc.core.adapter_config import AdapterConfig
from meetsvc.core.clock import Clock, utc_now
from meetsvc.video.base import VideoBackend
from meetsvc.video.builtin import BuiltinBackend, BuiltinConfig
from meetsvc.video.jitsi import JitsiBackend, JitsiConfig
from meetsvc.video.livekit import LiveKitBackend, LiveKitConfig
from meetsvc.video.vidicue import VidicueBackend, VidicueConfig

BackendName = Literal["builtin", "jitsi", "livekit", "vidicue"]


class VideoSettings(AdapterConfig):
    """The whole ``[video]`` section."""

    backend: BackendName = "builtin"
    builtin: BuiltinConfig = BuiltinConfig()
    jitsi: JitsiConfig | None = None
    livekit: LiveKitConfig | None = None
    vidicue: VidicueConfig | None = None

    @model_validator(mode="after")
    def _chosen_is_configured(self) -> VideoSettings:
        if getattr(self, self.backend) is None:
            raise ValueError(f'video.backend = "{self.backend}" needs a [video.{self.backend}] table')
        return self


def create_backend(
    settings_section: Mapping[str, Any] | VideoSettings,
    *,
    sign: Callable[[dict[str, Any]], str] | None = None,
    verify: Callable[[str], dict[str, Any]] | None = None,
    issuer: str | None = None,
    public_url: str = "",
    clock: Clock = utc_now,
    session: aiohttp.ClientSession | None = None,
) -> VideoBackend:
    """The configured backend. ``sign``, ``verify`` and ``issuer`` serve the built-in one only;
    ``session`` lets the vendor adapters share the caller's HTTP session (the caller closes it).

    Raises ``pydantic.ValidationError`` for a bad section and ``ValueError`` for an unreadable key.
    """
    settings = (
        settings_section
        if isinstance(settings_section, VideoSettings)
        else VideoSettings.model_validate(dict(settings_section))
    )
    if settings.backend == "builtin":
        if sign is None or verify is None or issuer is None:
            raise ValueError("the built-in video backend needs sign, verify and issuer")
        return BuiltinBackend(sign, verify, issuer=issuer, base_url=public_url, config=settings.builtin, clock=clock)
    if settings.backend == "jitsi":
        assert settings.jitsi is not None
        return JitsiBackend(settings.jitsi, clock=clock)
    if settings.backend == "livekit":
        assert settings.livekit is not None
        return LiveKitBackend(settings.livekit, clock=clock, session=session)
    assert settings.vidicue is not None
    return VidicueBackend(settings.vidicue, clock=clock, session=session)
