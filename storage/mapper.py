"""The event-store mapper: msgspec instead of the library's JSON transcoder.

Chosen before any data exists because stored formats differ between mappers. Each event class
gets a msgspec ``Struct`` twin built from its dataclass fields (minus ``originator_id`` and
``originator_version``, which the stored record already carries), so decoding is typed: datetimes,
dates, UUIDs and nested structs come back as themselves, and a payload that does not match the
class fails loudly instead of producing a half-built event.
"""

from __future__ import annotations

import dataclasses
import typing
from functools import cache
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

__all__ = ["MsgspecMapper", "decode_event", "encode_event_state"]

_RECORD_FIELDS = frozenset({"originator_id", "originator_version"})
_encoder = msgspec.json.Encoder()


class _NoTranscoder:
    """The base class wants a transcoder; ours never calls it."""

    def encode(self, obj: Any) -> bytes:  # pragma: no cover - never called
        raise NotImplementedError

    def decode(self, data: bytes) -> Any:  # pragma: no cover - never called
        raise NotImplementedError


class MsgspecMapper(Mapper[UUID]):
    def __init__(self) -> None:
        super().__init__(transcoder=_NoTranscoder())  # type: ignore[arg-type]

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=get_topic(type(domain_event)),
            state=encode_event_state(domain_event),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return decode_event(
            stored_event.topic,
            stored_event.state,
            originator_id=stored_event.originator_id,
            originator_version=stored_event.originator_version,
        )


def encode_event_state(domain_event: Any) -> bytes:
    state = {k: v for k, v in vars(domain_event).items() if k not in _RECORD_FIELDS}
    class_version = getattr(type(domain_event), "class_version", 1)
    if class_version > 1:
        state["class_version"] = class_version
    return _encoder.encode(state)


def decode_event(
    topic: str, state: bytes, *, originator_id: UUID | str, originator_version: int
) -> Any:
    """Rebuild a domain event from its stored parts; pure, so projections can call it too."""
    cls = resolve_topic(topic)
    try:
        decoded = _decoder_for(cls).decode(state)
    except (msgspec.DecodeError, msgspec.ValidationError) as err:
        raise MapperDeserialisationError(
            f"stored event {originator_id}@{originator_version} ({topic}) does not decode: {err}"
        ) from err
    event_state = {f: getattr(decoded, f) for f in decoded.__struct_fields__}
    from_version = event_state.pop("class_version", None) or 1
    while from_version < getattr(cls, "class_version", 1):
        getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(event_state)
        from_version += 1
    event_state["originator_id"] = (
        originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
    )
    event_state["originator_version"] = originator_version
    event = object.__new__(cls)
    object.__setattr__(event, "__dict__", event_state)
    return event


@cache
def _decoder_for(cls: type[Any]) -> msgspec.json.Decoder[Any]:
    hints = typing.get_type_hints(cls)
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for field in dataclasses.fields(cls):
        if field.name in _RECORD_FIELDS:
            continue
        fields.append((field.name, hints.get(field.name, Any)))
    # Older stored versions of a class may lack fields an upcaster adds, so the twin is lenient
    # about absence only for the version marker itself.
    fields.append(("class_version", int | None, None))
    twin = msgspec.defstruct(f"{cls.__qualname__}Stored", fields, kw_only=True)
    return msgspec.json.Decoder(twin)
