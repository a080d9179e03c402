"""The Functions host's gRPC messages (FunctionRpc.proto) in plain Python, for the worker's own
request handlers (`azure_functions_runtime`), which take the messages module as a parameter.

Protobuf semantics as the handlers rely on them: a field given None is unset, an unset field
reads as its default (an empty sub-message for a message field), and `WhichOneof` names the
member of a oneof that is set. Only the messages and fields the handlers and the dev host use
are declared; an unknown field is an error, as it is in protobuf."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar


class Message:
    fields: ClassVar[dict[str, Any]] = {}
    """Field name -> default factory (a type: int, str, bytes, list, dict or a Message)."""
    oneofs: ClassVar[dict[str, tuple[str, ...]]] = {}

    def __init__(self, **values: Any) -> None:
        for name, value in values.items():
            if name not in self.fields:
                raise TypeError(f"{type(self).__name__} has no field {name!r}")
            if value is not None:
                self.__dict__[name] = value

    def __getattr__(self, name: str) -> Any:
        factory = type(self).fields.get(name)
        if factory is None:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}")
        return factory()

    def HasField(self, name: str) -> bool:
        return name in self.__dict__

    def WhichOneof(self, group: str) -> str | None:
        return next((n for n in self.oneofs[group] if n in self.__dict__), None)

    def __repr__(self) -> str:
        set_fields = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{type(self).__name__}({set_fields})"


def _message(name: str, fields: dict[str, Any], **oneofs: tuple[str, ...]) -> type[Message]:
    return type(name, (Message,), {"fields": fields, "oneofs": oneofs})


RpcException = _message(
    "RpcException",
    {"source": str, "stack_trace": str, "message": str, "is_user_exception": bool, "type": str},
)


class StatusResult(Message):
    Failure: ClassVar[int] = 0
    Success: ClassVar[int] = 1
    Cancelled: ClassVar[int] = 2
    fields = {"status": int, "result": str, "exception": RpcException, "logs": list}


class BindingInfo(Message):
    out: ClassVar[int] = 1
    inout: ClassVar[int] = 2
    undefined: ClassVar[int] = 0
    fields = {"type": str, "direction": int, "data_type": int, "properties": dict}


setattr(BindingInfo, "in", 0)


class _SameSite:
    Lax, Strict, ExplicitNone = 1, 2, 3


setattr(_SameSite, "None", 0)


NullableString = _message("NullableString", {"value": str})
NullableBool = _message("NullableBool", {"value": bool})
NullableDouble = _message("NullableDouble", {"value": float})
NullableTimestamp = _message("NullableTimestamp", {"value": object})


class RpcHttpCookie(Message):
    SameSite = _SameSite
    fields = {
        "name": str,
        "value": str,
        "domain": NullableString,
        "path": NullableString,
        "expires": NullableTimestamp,
        "secure": NullableBool,
        "http_only": NullableBool,
        "same_site": int,
        "max_age": NullableDouble,
    }


CollectionBytes = _message("CollectionBytes", {"bytes": list})
CollectionString = _message("CollectionString", {"string": list})
CollectionDouble = _message("CollectionDouble", {"double": list})
CollectionSInt64 = _message("CollectionSInt64", {"sint64": list})
_DATA = ("string", "json", "bytes", "stream", "http", "int", "double")
_COLLECTIONS = ("collection_bytes", "collection_string", "collection_double", "collection_sint64")


class TypedData(Message):
    oneofs = {"data": _DATA + _COLLECTIONS}


class RpcHttp(Message):
    fields = {
        "method": str,
        "url": str,
        "headers": dict,
        "body": TypedData,
        "params": dict,
        "status_code": str,
        "query": dict,
        "enable_content_negotiation": bool,
        "cookies": list,
    }


TypedData.fields = {
    "string": str,
    "json": str,
    "bytes": bytes,
    "stream": bytes,
    "http": RpcHttp,
    "int": int,
    "double": float,
    "collection_bytes": CollectionBytes,
    "collection_string": CollectionString,
    "collection_double": CollectionDouble,
    "collection_sint64": CollectionSInt64,
}
ParameterBinding = _message(
    "ParameterBinding",
    {"name": str, "data": TypedData, "rpc_shared_memory": object},
    rpc_data=("data", "rpc_shared_memory"),
)
RpcRetryOptions = _message(
    "RpcRetryOptions",
    {
        "max_retry_count": int,
        "delay_interval": timedelta,
        "minimum_interval": timedelta,
        "maximum_interval": timedelta,
        "retry_strategy": str,
    },
)
RpcFunctionMetadata = _message(
    "RpcFunctionMetadata",
    dict.fromkeys(("name", "directory", "script_file", "entry_point", "function_id"), str)
    | dict.fromkeys(("is_proxy", "managed_dependency_enabled"), bool)
    | {"language": str, "bindings": dict, "raw_bindings": list, "properties": dict}
    | {"retry_options": RpcRetryOptions, "status": StatusResult},
)
WorkerMetadata = _message(
    "WorkerMetadata",
    dict.fromkeys(("runtime_name", "runtime_version", "worker_version", "worker_bitness"), str)
    | {"custom_properties": dict},
)
WorkerInitRequest = _message(
    "WorkerInitRequest",
    dict.fromkeys(("host_version", "worker_directory", "function_app_directory"), str)
    | {"capabilities": dict, "log_categories": dict},
)
WorkerInitResponse = _message(
    "WorkerInitResponse",
    {"capabilities": dict, "worker_metadata": WorkerMetadata, "result": StatusResult},
)
FunctionsMetadataRequest = _message("FunctionsMetadataRequest", {"function_app_directory": str})
FunctionMetadataResponse = _message(
    "FunctionMetadataResponse",
    {"function_metadata_results": list, "result": StatusResult}
    | {"use_default_metadata_indexing": bool},
)
FunctionLoadRequest = _message(
    "FunctionLoadRequest",
    {"function_id": str, "metadata": RpcFunctionMetadata, "managed_dependency_enabled": bool},
)
FunctionLoadResponse = _message(
    "FunctionLoadResponse", {"function_id": str, "result": StatusResult, "is_dependency": bool}
)
RpcTraceContext = _message(
    "RpcTraceContext", {"trace_parent": str, "trace_state": str, "attributes": dict}
)
RetryContext = _message(
    "RetryContext", {"retry_count": int, "max_retry_count": int, "exception": RpcException}
)
InvocationRequest = _message(
    "InvocationRequest",
    {
        "invocation_id": str,
        "function_id": str,
        "input_data": list,
        "trigger_metadata": dict,
        "trace_context": RpcTraceContext,
        "retry_context": RetryContext,
    },
)
InvocationResponse = _message(
    "InvocationResponse",
    {
        "invocation_id": str,
        "output_data": list,
        "return_value": TypedData,
        "result": StatusResult,
    },
)
FunctionEnvironmentReloadResponse = _message(
    "FunctionEnvironmentReloadResponse",
    {"capabilities": dict, "worker_metadata": WorkerMetadata, "result": StatusResult},
)
_REQUESTS = (
    "worker_init_request",
    "functions_metadata_request",
    "function_load_request",
    "invocation_request",
)
StreamingMessage = _message(
    "StreamingMessage",
    {"request_id": str}
    | dict(
        zip(
            _REQUESTS,
            (WorkerInitRequest, FunctionsMetadataRequest, FunctionLoadRequest, InvocationRequest),
            strict=True,
        )
    ),
    content=_REQUESTS,
)
