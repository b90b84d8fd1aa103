"""The ``[schedule]`` configuration section: the timed work and the retention rule."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ScheduleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="Run the timed work in this deployment (one process at a time runs it).")
    horizon_minutes: int = Field(
        360,
        ge=10,
        le=7 * 24 * 60,
        description="How far ahead the schedule holds jobs in memory; later ones are loaded as the time comes.",
    )
    sync_seconds: float = Field(
        5.0,
        gt=0,
        le=300,
        description="How often the running schedule picks up meetings booked or moved by other processes.",
    )
    leader_retry_seconds: float = Field(
        5.0,
        gt=0,
        le=300,
        description="How often a process that does not run the schedule checks whether it should take over.",
    )
    close_after_minutes: int = Field(
        60,
        ge=0,
        le=24 * 60,
        description="After a meeting's end, a meeting never started is marked not held, one still running ended.",
    )
    purge_after_days: int = Field(
        30,
        ge=0,
        le=3650,
        description="Days after a meeting's end when names, contact details, identities and message texts are erased.",
    )
