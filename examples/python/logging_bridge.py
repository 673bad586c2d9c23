"""Send audit events through Python's standard logging, bridged to OpenTelemetry.

    pip install -r requirements.txt
    OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_SERVICE_NAME=billing \
        python logging_bridge.py

The SDK's LoggingHandler turns each logging record into an OTLP LogRecord: the message
becomes the body, `extra` keys become attributes (dotted names are fine), the level the
severity and record.created the time, in nanoseconds. The standard logging API has no
event name, so the action travels in the `event.name` attribute. Other attributes the
handler adds (code.file.path, code.function.name, code.line.number) are ignored by the
collector. Prints one JSON line per event sent.
"""

import json
import logging
import uuid
import warnings

from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource

provider = LoggerProvider(resource=Resource.create())
provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
with warnings.catch_warnings():
    # 1.45 marks the SDK's handler deprecated in favour of opentelemetry-instrumentation-logging's,
    # which sends the same records; this one needs no further package.
    warnings.simplefilter("ignore", DeprecationWarning)
    handler = LoggingHandler(level=logging.INFO, logger_provider=provider)

# A logger of its own, not propagating: audit events go to the collector, and the
# application's other logs do not become audit events.
audit_log = logging.getLogger("audit")
audit_log.setLevel(logging.INFO)
audit_log.propagate = False
audit_log.addHandler(handler)

event_id = str(uuid.uuid4())
audit_log.info(
    "Alice signed on from the VPN",
    extra={
        "event.name": "auth.login",
        "log.record.uid": event_id,
        "audit.outcome": "success",
        "user.id": "u-alice",
        "user.name": "Alice Martin",
        "audit.actor.type": "user",
        "client.address": "198.51.100.4",
        "session.id": "s-9",
        "audit.metadata.mfa": True,
    },
)

provider.shutdown()
print(json.dumps({"id": event_id, "action": "auth.login"}))
