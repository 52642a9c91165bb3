"""A gRPC front for a real Temporal server that can fail chosen calls on cue.

Every unary call (all of Temporal's frontend API is unary, long polls too) is
passed to the server as raw bytes with its metadata, and the server's answer
or error comes back as is. ``fail_next`` makes the next calls of one method
fail with a status of our choosing before they reach the server, as a busy
server or a dropped stream would: what a client does then is the server's real
behaviour for every other call."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc
from grpc import aio

from starter.devstack.ports import HOST, free_port

# Set by the transport for each hop; forwarding them would confuse the server.
_HOP_HEADERS = {"user-agent", "content-type", "te", "grpc-accept-encoding", "grpc-timeout"}

Handler = Callable[[bytes, aio.ServicerContext], Awaitable[bytes]]


@dataclass
class GrpcFront:
    """Listens on ``address``; forwards to ``upstream`` (host:port)."""

    upstream: str
    address: str = ""
    calls: dict[str, list[grpc.StatusCode]] = field(default_factory=lambda: defaultdict(list))
    """Each call by method name (``DescribeTaskQueue``), with its outcome."""
    _failures: dict[str, deque[grpc.StatusCode]] = field(default_factory=lambda: defaultdict(deque))
    _server: aio.Server | None = None
    _channel: aio.Channel | None = None

    def fail_next(self, method: str, *codes: grpc.StatusCode) -> None:
        """The next calls of ``method`` fail with ``codes``, one each, in order."""
        self._failures[method].extend(codes)

    async def start(self) -> GrpcFront:
        self._channel = aio.insecure_channel(self.upstream)
        port = free_port()
        self.address = f"{HOST}:{port}"
        self._server = aio.server()
        self._server.add_generic_rpc_handlers([_Forwarding(self)])
        self._server.add_insecure_port(self.address)
        await self._server.start()
        return self

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(grace=None)
        if self._channel is not None:
            await self._channel.close()

    def _handler(self, full_method: str) -> Handler:
        name = full_method.rsplit("/", 1)[-1]
        assert self._channel is not None
        forward = self._channel.unary_unary(full_method)

        async def handle(request: bytes, context: aio.ServicerContext) -> bytes:
            failures = self._failures[name]
            if failures:
                code = failures.popleft()
                self.calls[name].append(code)
                await context.abort(code, f"failed on cue by the test's gRPC front ({name})")
            metadata = [
                (key, value)
                for key, value in context.invocation_metadata() or ()
                if key not in _HOP_HEADERS and not key.startswith(":")
            ]
            remaining = context.time_remaining()
            try:
                answer: bytes = await forward(request, metadata=metadata, timeout=remaining)
            except aio.AioRpcError as error:
                self.calls[name].append(error.code())
                await context.abort(error.code(), error.details() or "")
            self.calls[name].append(grpc.StatusCode.OK)
            return answer

        return handle


class _Forwarding(grpc.GenericRpcHandler):
    def __init__(self, front: GrpcFront) -> None:
        self._front = front

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        method: str = handler_call_details.method
        # No (de)serializers: requests and answers pass through as bytes.
        return grpc.unary_unary_rpc_method_handler(self._front._handler(method))
