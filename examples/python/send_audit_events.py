"""Send audit events to an otel-audit collector with the OpenTelemetry Python SDK.

    pip install -r requirements.txt
    OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_SERVICE_NAME=billing \
        python send_audit_events.py

Logs go through the SDK's LoggerProvider and OTLPLogExporter (OTLP/HTTP, protobuf); one
event is also sent as a span event through TracerProvider and OTLPSpanExporter. Every
attribute is described in docs/wire-contract.md. Prints one JSON line per event sent
(id, action, timeUnixNano, traceId, spanId), so each can be looked up afterwards.
"""

import json
import time
import uuid

from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

# Resource.create() reads OTEL_SERVICE_NAME (and OTEL_RESOURCE_ATTRIBUTES): the collector
# stores service.name with every event. The exporters read OTEL_EXPORTER_OTLP_ENDPOINT and
# OTEL_EXPORTER_OTLP_HEADERS (a sender token: "authorization=Bearer%20<token>").
resource = Resource.create()
logger_provider = LoggerProvider(resource=resource)
logger_provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
logger = logger_provider.get_logger("audit")
tracer_provider = TracerProvider(resource=resource)
tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
tracer = tracer_provider.get_tracer("audit")

ALICE = {
    "user.id": "u-alice",
    "user.name": "Alice Martin",
    "audit.actor.type": "user",
    "user.email": "alice@example.com",
    "user.roles": ["admin", "auditor"],
    "client.address": "203.0.113.7",
    "user_agent.original": "example-agent/1.0",
    "audit.workspace.id": "acme",
    "audit.workspace.name": "Acme",
}

sent = []


def audit(action, attributes, body=None, failed=False):
    """Emit one audit event as a LogRecord; inside a span it carries the span's trace context."""
    event_id = str(uuid.uuid4())  # one id per event: the collector stores a retried record once
    now = time.time_ns()  # nanoseconds: the collector refuses milliseconds or seconds
    logger.emit(
        event_name=action,
        timestamp=now,
        severity_number=SeverityNumber.WARN if failed else SeverityNumber.INFO,
        body=body,
        attributes={"log.record.uid": event_id, **attributes},
    )
    context = trace.get_current_span().get_span_context()
    sent.append(
        {
            "id": event_id,
            "action": action,
            "timeUnixNano": str(now),
            **(
                {"traceId": format(context.trace_id, "032x"), "spanId": format(context.span_id, "016x")}
                if context.is_valid
                else {}
            ),
        }
    )


# A failed log-on: a catalogue action, so audit.category may be left out (the collector
# fills in the catalogue's "authentication").
audit(
    "auth.login",
    {**ALICE, "audit.outcome": "failure", "audit.reason": "wrong password"},
    body="Log on failed",
    failed=True,
)

with tracer.start_as_current_span("PATCH /users/u-bob") as span:
    # A profile change inside a request's span: the record keeps the trace and span id.
    audit(
        "user.update",
        {
            **ALICE,
            "audit.category": "iam",
            "audit.outcome": "success",
            "audit.resource.type": "user",
            "audit.resource.id": "u-bob",
            "audit.resource.name": "Bob Builder",
            # A JSON array of {field, from, to}: attribute values cannot hold null or nesting.
            "audit.changes": json.dumps(
                [
                    {"field": "email", "from": "bob@old.example", "to": "bob@example.com"},
                    {"field": "password", "from": "hunter2", "to": "correct horse battery staple"},
                ]
            ),
            "audit.request.id": "r-2",
            "audit.request.parent_id": "r-1",
            "audit.correlation_id": "req-42",
            "session.id": "s-1",
            "audit.metadata.ticket": "CHG-42",
            "audit.metadata.attempts": 3,
            "audit.metadata.dry_run": False,
            "audit.metadata.api_key": "sk_live_51HxExampleSecretValue",
        },
    )
    # Also an audit event: a span event named as a catalogue action (or carrying
    # audit.action), sent with the span to /v1/traces. Its id is derived by the collector.
    span.add_event("auth.logout", attributes={**ALICE, "session.id": "s-1"})
    context = span.get_span_context()
    sent.append(
        {
            "action": "auth.logout",
            "source": "span-event",
            "traceId": format(context.trace_id, "032x"),
            "spanId": format(context.span_id, "016x"),
        }
    )

# shutdown() flushes. The SDK does not report a partial success (records the collector
# refused): see "What the sender must check" in docs/wire-contract.md.
tracer_provider.shutdown()
logger_provider.shutdown()
for line in sent:
    print(json.dumps(line))
