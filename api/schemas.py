"""Request and response schemas (separate from the ORM models)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_ID = 2_147_483_647


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="Numeric id")]
RoleName = Literal["admin", "head_of_sales", "manager", "marketer", "trainer", "crm"]
ItemStatus = Literal["passed", "failed", "not_applicable"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- keys -----------------------------------------------------------------------------------------

class MeOut(BaseModel):
    key_id: int
    name: str
    role: str
    manager_id: int | None
    sees_personal_data: bool


class KeyCreate(Strict):
    name: Annotated[Text, Field(min_length=1, max_length=200)]
    role: RoleName
    manager_name: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    manager_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None


class KeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    role: str
    manager_id: int | None
    active: bool
    created_at: datetime | None
    last_used_at: datetime | None


class KeyCreated(KeyOut):
    key: str = Field(description="The API key; shown only in this response")


# --- calls ----------------------------------------------------------------------------------------

class UploadAccepted(BaseModel):
    call_id: int
    state: str
    created: bool = Field(description="False when the same recording was uploaded before")
    task_id: str | None = None


class CallSummary(BaseModel):
    id: int
    file: str
    state: str
    manager_id: int | None
    manager: str | None
    direction: str
    source_channel: str | None
    campaign: str | None
    started_at: datetime | None
    duration_s: float | None
    score: float | None
    call_class: str | None
    outcome: str | None
    updated_at: datetime | None


class CallPage(BaseModel):
    items: list[CallSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


# --- overrides ------------------------------------------------------------------------------------

class OverrideCreate(Strict):
    target: Literal["item", "class", "outcome"]
    value: Annotated[Text, Field(min_length=1, max_length=50)]
    reason: Annotated[Text, Field(min_length=3, max_length=4000)]
    item_id: Annotated[Text, Field(min_length=1, max_length=100)] | None = None
    checklist_id: Annotated[Text, Field(min_length=1, max_length=100)] | None = None


class OverrideOut(BaseModel):
    id: int
    call_id: int
    target: str
    item_id: str | None
    scorecard_id: int | None
    before: str | None
    after: str
    reason: str
    actor: str
    created_at: datetime | None


# --- gold library ---------------------------------------------------------------------------------

Tag = Annotated[Text, Field(pattern=r"^(stage|item|topic):[^\s:][^:]{0,98}$", max_length=100)]


class GoldEntryCreate(Strict):
    call_id: Annotated[int, Field(ge=1, le=MAX_ID)]
    title: Annotated[Text, Field(min_length=1, max_length=300)]
    tags: Annotated[list[Tag], Field(max_length=50)] = []
    notes: Annotated[Text, Field(max_length=10000)] | None = None


class GoldEntryUpdate(Strict):
    title: Annotated[Text, Field(min_length=1, max_length=300)] | None = None
    tags: Annotated[list[Tag], Field(max_length=50)] | None = None
    notes: Annotated[Text, Field(max_length=10000)] | None = None


class ClipCreate(Strict):
    start_s: Annotated[float, Field(ge=0, le=86400, allow_inf_nan=False)]
    end_s: Annotated[float, Field(ge=0, le=86400, allow_inf_nan=False)]
    title: Annotated[Text, Field(max_length=300)] | None = None
    tags: Annotated[list[Tag], Field(max_length=50)] = []


class PlaylistCreate(Strict):
    name: Annotated[Text, Field(min_length=1, max_length=300)]
    description: Annotated[Text, Field(max_length=10000)] | None = None
    clip_ids: Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]], Field(max_length=500)] = []


class PlaylistUpdate(Strict):
    name: Annotated[Text, Field(min_length=1, max_length=300)] | None = None
    description: Annotated[Text, Field(max_length=10000)] | None = None
    clip_ids: Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]], Field(max_length=500)] | None = None


# --- webhooks -------------------------------------------------------------------------------------

class WebhookCreate(Strict):
    url: Annotated[Text, Field(pattern=r"^https?://[^\s/$.?#][^\s]*$", max_length=2000)]
    secret: Annotated[Text, Field(min_length=16, max_length=200)]
    events: Annotated[list[Literal["call.scored"]], Field(max_length=10)] = ["call.scored"]


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    active: bool
    created_at: datetime | None


class DeliveryOut(BaseModel):
    id: int
    webhook_id: int
    call_id: int | None
    event: str
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime | None
    updated_at: datetime | None


JsonDict = dict[str, Any]
