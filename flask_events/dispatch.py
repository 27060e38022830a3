"""The transport-free core: bytes in, response event and bytes out, with its signals.

Every transport (HTTP, WebSocket and Socket.IO) calls one
:class:`Dispatcher`, so validation, errors and signals are the same everywhere. This
module does not import Flask; the caller passes the signal sender (the app).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from time import perf_counter
from typing import Any, Callable, ContextManager, Mapping, NamedTuple, Optional, Union

from . import coroutines
from .codec import dumps
from .context import _handling
from .declarations import undeclared
from .errors import (
    BadProtocol,
    EventError,
    EventNotFound,
    InvalidOutput,
    InvalidPayload,
    PayloadValidationError,
    TooManyInFlight,
    UnserializableResponse,
)
from .event import (
    Event,
    bad_protocol_event,
    error_response_event,
    parse_event,
    random_id,
    response_event,
    without_auth,
)
from .failures import ErrorHandlers, answer
from .redaction import (
    detached,
    redacted,
    scrub,
    secret_forms,
    with_nested_auth_cleared,
)
from .registry import HandlerSpec, Registry
from .signals import error_noticed, event_error_noticed, event_finished, event_started, send

__all__ = ["Dispatcher", "Reply", "Settings", "TooManyInFlight"]
# InvalidPayload, TooManyInFlight and UnserializableResponse lived here: imported from
# errors.py, they stay importable from this module

logger = logging.getLogger("flask_events")


Input = Union[bytes, bytearray, memoryview, str, Mapping[str, Any]]


class Reply(NamedTuple):
    """What a transport sends back for one input."""

    #: The response event, encoded (``auth`` always ``{}``).
    body: bytes
    #: 200 for every protocol outcome; 500 when the response could not be encoded.
    status: int
    #: The response event that ``body`` encodes.
    event: Event


@dataclass(frozen=True)
class Settings:
    """Per-sender settings the dispatcher asks for when it needs them (never on the
    fast path: output validation, batches, failures and unencodable answers).
    """

    #: Check dumped results against the output schema (a mismatch is an error).
    validate_output: bool = False
    #: Most sub-events in one batch; ``None``: no limit.
    batch_max_events: Optional[int] = 100
    #: Most sub-events of one parallel batch running at once (a cap per batch);
    #: ``None``: no limit (one thread per synchronous sub-event).
    batch_max_workers: Optional[int] = 16
    #: Seconds a batch may take before its sub-events not yet started are answered
    #: ``BATCH_TIMEOUT`` instead of running; ``None``: no limit.
    batch_timeout: Optional[float] = 30.0
    #: Let an unexpected exception of a handler (not an ``EventError`` nor an
    #: ``HTTPException``, and not answered by an error handler) propagate out of
    #: :meth:`Dispatcher.handle` instead of answering ``<name>:error``.
    propagate_exceptions: bool = False
    #: Called with each value the fast encoder cannot encode; returns one it can, or
    #: raises ``TypeError`` (the app's JSON provider's ``default``). ``None``: none.
    json_default: Optional[Callable[[Any], Any]] = None
    #: Log a warning (once per event and type) when a handler answers a typed error
    #: it does not declare (``errors=``).
    warn_undeclared: bool = False


class Dispatcher:
    """Runs events against the handlers of one :class:`~flask_events.registry.Registry`.

    :param registry: the handlers to serve; later registrations are seen at once.
    :param settings: returns the :class:`Settings` for a signal sender (the app);
        called only when output validation, a batch, a failure or an answer the fast
        encoder cannot encode needs them.
    :param scope: returns a fresh context for a sender, entered around each handler
        run with ``isolated=True`` (the blueprint gives ``app.app_context()``: each
        such handler has its own ``flask.g``). ``None``: no isolation.
    """

    def __init__(
        self,
        registry: Registry,
        settings: Callable[[Any], Settings] = lambda sender: Settings(),
        *,
        scope: Optional[Callable[[Any], ContextManager[Any]]] = None,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.scope = scope
        self._lookup = registry.lookup  # bound once: one attribute read per event
        #: Called with each event of a non-public handler before it runs; returns the
        #: principal (see :class:`~flask_events.Handling`) or raises ``Unauthorized`` /
        #: ``Forbidden``. ``None``: no authentication.
        self.authenticator: Optional[Callable[[Event], Any]] = None
        #: What the blueprint's ``errorhandler`` declares.
        self.error_handlers = ErrorHandlers()
        #: Whether a sender (an app) has sent an event through :meth:`handle` or
        #: :meth:`dispatch`; from then on the registry takes no new handlers. Only a
        #: flag: the blueprint keeps no reference to an app.
        self.serving = False
        #: The prefix of the configuration keys the transports read for these events
        #: (the blueprint's ``config_prefix``): ``<prefix>MAX_DEPTH`` before
        #: ``EVENTS_MAX_DEPTH``, and so on.
        self.config_prefix = "EVENTS_"
        #: What was logged once already: deprecated versions called, and
        #: ``(name, version, type)`` of undeclared typed errors answered.
        self._logged: set[tuple[Any, ...]] = set()

    def handle(
        self,
        data: Input,
        *,
        sender: Any,
        transport: str = "http",
        max_depth: Optional[int] = None,
        isolated: bool = False,
    ) -> Reply:
        """Parse ``data``, run its handler, and encode the answer. Never raises for
        bad input nor a failing handler, unless the sender's settings propagate a
        handler's unexpected exception (``propagate_exceptions``).

        :param data: one envelope: JSON bytes (read as UTF-8), a JSON string, or a
            decoded object.
        :param sender: the sender of the signals (the Flask app).
        :param transport: the transport's name, passed on to the signals.
        :param max_depth: the deepest nesting accepted (see
            :func:`~flask_events.parse_event`); deeper is answered ``badProtocol``.
        :param isolated: run the handler in a fresh ``scope`` (see :meth:`run`), for
            transports that run several handlers at once.
        """
        if not self.serving:
            self._serving(sender)
        try:
            request = parse_event(data, max_depth=max_depth)
        except BadProtocol as error:
            return self.reject(error, sender=sender, transport=transport)
        spec = self._lookup((request.name, request.version))  # as dispatch() does
        if spec is None:
            response = self.not_found(request, sender, transport)
        else:
            response = self.run(spec, request, sender, transport, isolated=isolated)[0]
        return self.encode(request, response, sender=sender, transport=transport)

    def _serving(self, sender: Any) -> None:
        """The first event from a sender (an app): close the registry, as Flask refuses
        setup methods once an app has handled its first request. Without a sender
        (the dispatcher used directly) nothing is closed.
        """
        if sender is not None:
            self.serving = True
            self.registry.close(f"app {getattr(sender, 'name', sender)!r}")

    def reject(self, error: BadProtocol, *, sender: Any, transport: str = "http") -> Reply:
        """Answer input that could not be read as an event with ``badProtocol``."""
        # its frames hold the raw input, credentials and all: cut them off
        send(error_noticed, sender, error=detached(error), transport=transport)
        event = bad_protocol_event(error)
        return Reply(event.to_json(), 200, event)

    def refuse(
        self,
        data: Input,
        error: EventError,
        *,
        sender: Any,
        transport: str = "http",
        max_depth: Optional[int] = None,
    ) -> Reply:
        """Answer ``data`` with ``error`` without running its handler (a limit was
        reached); input that is not an event is answered ``badProtocol`` as usual.
        """
        try:
            request = parse_event(data, max_depth=max_depth)
        except BadProtocol as bad:
            return self.reject(bad, sender=sender, transport=transport)
        response = self.refused(request, error, sender, transport)
        return self.encode(request, response, sender=sender, transport=transport)

    def dispatch(
        self, request: Event, *, sender: Any, transport: str = "http", isolated: bool = False
    ) -> Event:
        """Run the handler of a parsed ``request`` and return its response event."""
        if not self.serving:
            self._serving(sender)
        spec = self._lookup((request.name, request.version))
        if spec is None:
            return self.not_found(request, sender, transport)
        return self.run(spec, request, sender, transport, isolated=isolated)[0]

    def encode(
        self, request: Event, response: Event, *, sender: Any, transport: str = "http"
    ) -> Reply:
        """Encode ``response`` with ``auth`` ``{}`` — its own and that of any event a
        handler put inside its payload. A value the fast encoder cannot encode goes
        to the settings' ``json_default`` (the app's JSON provider); if it still
        cannot be encoded, answer ``<name>:error`` (``UNSERIALIZABLE_RESPONSE``) with
        status 500.
        """
        if response.auth:
            response = without_auth(response)
        try:
            try:
                body = dumps(response)
            except TypeError:  # not the common path: the app may know the value
                body = dumps(response, self._settings(sender).json_default)
            # events a handler put inside its answer are answered without credentials
            response, body = with_nested_auth_cleared(response, body)
            return Reply(body, 200, response)
        except TypeError as exc:
            error: Exception = exc
        # %r and no traceback: one line, whatever the request's values or the error's
        # text (which quotes what the payload's objects raised: scrubbed)
        logger.error(
            "response to event %r v%r (id=%r, flowId=%r) is not serializable: %s: %r",
            request.name,
            request.version,
            request.id,
            request.flow_id,
            type(error).__name__,
            scrub(str(error), secret_forms(request.auth)),
        )
        send(event_error_noticed, sender, event=request, error=error, transport=transport)
        fallback = error_response_event(request, UnserializableResponse())
        try:
            return Reply(fallback.to_json(), 500, fallback)
        except TypeError:  # the request's name or ids cannot be written (not JSON text)
            fallback = Event("error", 1, random_id(), random_id(), fallback.payload)
            return Reply(fallback.to_json(), 500, fallback)

    def not_found(self, request: Event, sender: Any, transport: str) -> Event:
        """The ``eventNotFound`` answer to ``request`` (no handler has its name and
        version), after ``event_error_noticed``.
        """
        error = EventNotFound.for_event(request.name, request.version)
        return self.refused(request, error, sender, transport)

    @staticmethod
    def refused(request: Event, error: EventError, sender: Any, transport: str) -> Event:
        """The answer to ``request`` for an error Flask-Events built itself (unknown
        event, a limit, a nested batch), after ``event_error_noticed``. Such an error
        holds nothing of ``auth``, so it is passed unscrubbed: an unknown name costs no
        scrubbing of a large ``auth``.
        """
        send(
            event_error_noticed,
            sender,
            event=request,
            error=error,
            transport=transport,
            credentials={},
        )
        return error_response_event(request, error)

    # -- the pipeline: authenticate, load input, call, dump output, with signals ------

    def run(
        self,
        spec: HandlerSpec,
        request: Event,
        sender: Any,
        transport: str,
        *,
        isolated: bool = False,
    ) -> tuple[Event, Optional[Exception]]:
        """Run ``spec``'s handler for ``request``, between ``event_started`` and
        ``event_finished``: authenticate, load the input, call (an ``async def``
        handler on this thread's event loop), dump the output. Returns the response
        event and the exception raised (``None`` if the handler returned).

        :param isolated: run it, signals included, inside a fresh ``scope`` (an app
            context of its own) when the dispatcher has one and ``sender`` is not
            ``None``.
        :raises Exception: a handler's unexpected exception, when the sender's
            settings propagate it (after ``event_finished``).
        """
        if isolated and self.scope is not None and sender is not None:
            with self.scope(sender):
                return self.run(spec, request, sender, transport)
        if (
            spec.plain
            and not event_started.receivers
            and not event_finished.receivers
            and (self.authenticator is None or spec.public)
        ):
            # THE FAST PATH (the one place it is written). When the handler is
            # ``spec.plain`` (sync, no input nor output schema), nobody listens to
            # event_started / event_finished, and there is nobody to authenticate,
            # _pipeline has nothing to redact, time, authenticate, load, await nor
            # dump: what is left is set the context, call, wrap the result, answer a
            # failure — written out here, without making and driving the pipeline's
            # coroutine. The results are the same as _pipeline's; bench (a) measures
            # what it saves. A step added to _pipeline must either be skipped in
            # these conditions or be added here too (tests/test_architecture.py checks
            # that both answer alike).
            token = _handling.set((request, sender, transport))
            try:
                result = spec.func(request)
                if not isinstance(result, Event):
                    return response_event(request, result), None
                if not spec.is_batch:  # an error event built by the handler
                    self._check_declared(spec, result, sender)
                return result, None
            except Exception as exc:
                error = exc
                response, raised = self._failure(spec, request, exc, sender)
            finally:
                _handling.reset(token)
            if raised is not None:  # only a failure gets here
                raise raised
            return response, error
        pipeline = self._pipeline(spec, request, sender, transport, awaiting=False)
        try:
            pipeline.send(None)  # nothing in it awaits: it ends at once
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        pipeline.close()  # pragma: no cover - a bug in _pipeline
        raise RuntimeError(
            "the handling pipeline awaited while run synchronously"
        )  # pragma: no cover

    async def run_async(
        self,
        spec: HandlerSpec,
        request: Event,
        sender: Any,
        transport: str,
        *,
        isolated: bool = False,
    ) -> tuple[Event, Optional[Exception]]:
        """:meth:`run`, awaiting an ``async def`` handler on the running loop: the
        same pipeline, awaited.
        """
        if isolated and self.scope is not None and sender is not None:
            with self.scope(sender):
                return await self.run_async(spec, request, sender, transport)
        return await self._pipeline(spec, request, sender, transport, awaiting=True)

    async def _pipeline(
        self, spec: HandlerSpec, request: Event, sender: Any, transport: str, awaiting: bool
    ) -> tuple[Event, Optional[Exception]]:
        """The one handling pipeline: ``event_started``, authenticate, load the input,
        call, dump the output, ``event_finished``. ``awaiting``: an ``async def``
        handler is awaited on the running loop; otherwise it is run to completion on
        this thread's (see :mod:`~flask_events.coroutines`), and nothing here awaits,
        so :meth:`run` drives it without a loop.
        """
        # shown: what subscribers see, redacted once (the same object throughout)
        shown = self._started(request, sender, transport) if event_started.receivers else request
        start = perf_counter() if event_finished.receivers else 0.0  # 0.0: not timed
        token = _handling.set((request, sender, transport))
        raised = error = None
        try:
            if spec.deprecated:
                self._log_deprecated(spec)
            if self.authenticator is not None and not spec.public:
                self._authenticate(request, sender, transport)
            result = self._call(spec, request)
            if spec.is_async:
                result = (await result) if awaiting else coroutines.run(result)
            response = self._settle(spec, request, result, sender)
        except Exception as exc:
            error = exc
            response, raised = self._failure(spec, request, exc, sender)
        finally:
            handling = _handling.get() if start else None  # the principal, for signals
            _handling.reset(token)
        if start:
            self._finished(shown, request, response, error, start, sender, transport, handling)
        if raised is not None:
            raise raised
        return response, error

    def _authenticate(self, request: Event, sender: Any, transport: str) -> None:
        """Run the authenticator; its result becomes ``current_handling().principal``."""
        assert self.authenticator is not None
        _handling.set((request, sender, transport, self.authenticator(request)))

    @staticmethod
    def _call(spec: HandlerSpec, request: Event) -> Any:
        """Call the handler, with the payload loaded when it declares an input schema
        (an ``async def`` handler returns its coroutine).
        """
        if spec.input is None:
            return spec.func(request)
        return spec.func(request, _load_input(spec, request))

    def _settle(self, spec: HandlerSpec, request: Event, result: Any, sender: Any) -> Event:
        """The response event of a handler's result, dumped through its output schema."""
        if isinstance(result, Event):
            if not spec.is_batch:  # an error event built by the handler
                self._check_declared(spec, result, sender)
            return result
        if spec.output is not None:
            result = spec.output.dump(result)
            if self._settings(sender).validate_output:
                _check_output(spec, result)
        return response_event(request, result)

    def _failure(
        self, spec: HandlerSpec, request: Event, error: Exception, sender: Any
    ) -> tuple[Event, Optional[Exception]]:
        """The answer to ``error`` (see :func:`~flask_events.failures.answer`), and
        the exception to propagate instead, if any. The batch event's own failures
        skip the error handlers: its sub-events had theirs.
        """
        response, raised = answer(
            request,
            error,
            None if spec.is_batch else self.error_handlers,
            f"handler {spec.qualname}",
            lambda: self._settings(sender).propagate_exceptions,
        )
        if raised is None and not spec.is_batch:
            self._check_declared(spec, response, sender)
        return response, raised

    def _log_deprecated(self, spec: HandlerSpec) -> None:
        """Log the first call of a deprecated version (once per process)."""
        key = ("deprecated", spec.name, spec.version)
        if key in self._logged:
            return
        self._logged.add(key)
        message = "" if spec.deprecated is True else f": {spec.deprecated}"
        logger.warning("event %r version %s is deprecated%s", spec.name, spec.version, message)

    def _check_declared(self, spec: HandlerSpec, response: Event, sender: Any) -> None:
        """Log (once per event and type) a typed error ``spec`` does not declare, when
        the sender's settings ask for it (debug and testing).
        """
        payload = response.payload
        type_ = undeclared(
            spec.name,
            spec.errors,
            response.name,
            payload.get("code") if isinstance(payload, dict) else None,
            validated=spec.input is not None,
            authenticated=self.authenticator is not None and not spec.public,
        )
        key = ("undeclared", spec.name, spec.version, type_)
        if type_ is None or key in self._logged or not self._settings(sender).warn_undeclared:
            return
        self._logged.add(key)
        logger.warning(
            "handler %s of %r v%s answered %r, a typed error it does not declare: add "
            "it to errors= to document it on /doc, OpenAPI and AsyncAPI",
            spec.qualname,
            spec.name,
            spec.version,
            response.name,
        )

    def _settings(self, sender: Any) -> Settings:
        """The settings of ``sender``; the defaults without one (a direct call)."""
        return Settings() if sender is None else self.settings(sender)

    @staticmethod
    def _started(request: Event, sender: Any, transport: str) -> Event:
        """Send ``event_started``; returns the event subscribers see."""
        shown = redacted(request)
        send(event_started, sender, event=shown, transport=transport)
        return shown

    @staticmethod
    def _finished(
        shown: Event,
        request: Event,
        response: Event,
        error: Optional[Exception],
        start: float,
        sender: Any,
        transport: str,
        handling: Optional[tuple[Any, ...]],
    ) -> None:
        send(
            event_finished,
            sender,
            event=shown,
            response=response,
            error=error,
            duration=perf_counter() - start,
            transport=transport,
            credentials=request.auth,
            principal=handling[3] if handling is not None and len(handling) > 3 else None,
        )


def _load_input(spec: HandlerSpec, request: Event) -> Any:
    assert spec.input is not None
    try:
        return spec.input.load(request.payload)
    except PayloadValidationError as exc:
        raise InvalidPayload(parameters={"errors": exc.errors}) from None


def _check_output(spec: HandlerSpec, dumped: Any) -> None:
    """Validate a dumped result (debug and testing): a mismatch is a loud server error."""
    assert spec.output is not None
    try:
        spec.output.check(dumped, output=True)
    except PayloadValidationError as exc:
        raise InvalidOutput(
            f"the result of {spec.qualname} does not match {spec.output.name}: {exc.errors}"
        ) from None


def __getattr__(name: str) -> Any:
    """``InvalidResponse``, the old name of :class:`~flask_events.errors.InvalidOutput`,
    kept importable from here; it warns ``DeprecationWarning``.
    """
    if name == "InvalidResponse":
        warnings.warn(
            "flask_events.dispatch.InvalidResponse is deprecated: use "
            "flask_events.errors.InvalidOutput (flask_events.InvalidResponse is the "
            "client's exception)",
            DeprecationWarning,
            stacklevel=2,
        )
        return InvalidOutput
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
