"""Loki's push.proto (https://github.com/grafana/loki/blob/main/pkg/push/push.proto) built with
the protobuf runtime, to encode requests as Promtail and Alloy do; the pipeline reads them
with its own wire-format reader."""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, timestamp_pb2

_F = descriptor_pb2.FieldDescriptorProto


def _file() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(
        name="test_loki_push.proto",
        package="test_logproto",
        syntax="proto3",
        dependency=["google/protobuf/timestamp.proto"],
    )

    def message(name: str, *fields: tuple[str, int, int, int, str]) -> None:
        m = proto.message_type.add(name=name)
        for field_name, number, kind, label, type_name in fields:
            f = m.field.add(name=field_name, number=number, type=kind, label=label)
            if type_name:
                f.type_name = type_name

    one, many = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
    message("PushRequest", ("streams", 1, _F.TYPE_MESSAGE, many, ".test_logproto.StreamAdapter"))
    message(
        "StreamAdapter",
        ("labels", 1, _F.TYPE_STRING, one, ""),
        ("entries", 2, _F.TYPE_MESSAGE, many, ".test_logproto.EntryAdapter"),
        ("hash", 3, _F.TYPE_UINT64, one, ""),
    )
    message(
        "LabelPairAdapter",
        ("name", 1, _F.TYPE_STRING, one, ""),
        ("value", 2, _F.TYPE_STRING, one, ""),
    )
    message(
        "EntryAdapter",
        ("timestamp", 1, _F.TYPE_MESSAGE, one, ".google.protobuf.Timestamp"),
        ("line", 2, _F.TYPE_STRING, one, ""),
        ("structuredMetadata", 3, _F.TYPE_MESSAGE, many, ".test_logproto.LabelPairAdapter"),
    )
    return proto


def _classes() -> dict[str, Any]:
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(_file())
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"test_logproto.{name}"))
        for name in ("PushRequest",)
    }


PushRequest = _classes()["PushRequest"]


def push_request(streams: list[tuple[str, list[tuple[int, str, dict[str, str]]]]]) -> bytes:
    """Serialised PushRequest: (labels text, [(unix ns, line, structured metadata)])."""
    request = PushRequest()
    for labels, entries in streams:
        stream = request.streams.add(labels=labels)
        for nanos, line, metadata in entries:
            entry = stream.entries.add(line=line)
            entry.timestamp.seconds, entry.timestamp.nanos = divmod(nanos, 1_000_000_000)
            for name, value in metadata.items():
                entry.structuredMetadata.add(name=name, value=value)
    return request.SerializeToString()
