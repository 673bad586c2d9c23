// Sends audit events to an otel-audit collector with the OpenTelemetry Java SDK: the logs
// API (io.opentelemetry.api.logs) on the log SDK, exported by OtlpHttpLogRecordExporter
// (OTLP/HTTP, protobuf).
//
//   OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_SERVICE_NAME=billing \
//     java -cp 'target/classes:target/lib/*' example.SendAuditEvents
//
// Every attribute below is described in docs/wire-contract.md. The program prints one JSON
// line per event it sent (id, action, timeUnixNano, traceId) so a reader, or the test in
// test/foreign-senders.test.ts, can look each one up.
package example;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.logs.Logger;
import io.opentelemetry.api.logs.Severity;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.context.Context;
import io.opentelemetry.exporter.otlp.http.logs.OtlpHttpLogRecordExporter;
import io.opentelemetry.exporter.otlp.http.logs.OtlpHttpLogRecordExporterBuilder;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.logs.SdkLoggerProvider;
import io.opentelemetry.sdk.logs.data.LogRecordData;
import io.opentelemetry.sdk.logs.export.BatchLogRecordProcessor;
import io.opentelemetry.sdk.logs.export.LogRecordExporter;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

public final class SendAuditEvents {
  public static void main(String[] args) {
    try {
      run();
    } catch (Exception e) {
      System.err.println(e);
      System.exit(1);
    }
  }

  static void run() throws Exception {
    // Without the autoconfigure module the SDK reads no OTEL_* variables: read the standard
    // ones here. Headers carry a sender token: OTEL_EXPORTER_OTLP_HEADERS="authorization=Bearer ...".
    String base = env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318").replaceAll("/+$", "");
    OtlpHttpLogRecordExporterBuilder exporterBuilder = OtlpHttpLogRecordExporter.builder().setEndpoint(base + "/v1/logs");
    for (String header : env("OTEL_EXPORTER_OTLP_HEADERS", "").split(",")) {
      int eq = header.indexOf('=');
      if (eq > 0) {
        exporterBuilder.addHeader(
            URLDecoder.decode(header.substring(0, eq).trim(), StandardCharsets.UTF_8),
            URLDecoder.decode(header.substring(eq + 1).trim(), StandardCharsets.UTF_8));
      }
    }
    // The batch processor logs a failed export and carries on: note it, to exit non-zero.
    AtomicBoolean exportFailed = new AtomicBoolean();
    LogRecordExporter exporter = failureNoting(exporterBuilder.build(), exportFailed);

    // The collector stores service.name; the SDK's default is unknown_service:java.
    Resource resource = Resource.getDefault()
        .merge(Resource.create(Attributes.of(AttributeKey.stringKey("service.name"), env("OTEL_SERVICE_NAME", "unknown_service:java"))));
    SdkLoggerProvider provider = SdkLoggerProvider.builder()
        .setResource(resource)
        .addLogRecordProcessor(BatchLogRecordProcessor.builder(exporter).build())
        .build();
    Logger logger = provider.get("audit");
    List<String> out = new ArrayList<>();

    Attributes alice = Attributes.builder()
        .put("user.id", "u-alice")
        .put("user.name", "Alice Martin")
        .put("audit.actor.type", "user")
        .put("user.email", "alice@example.com")
        .put(AttributeKey.stringArrayKey("user.roles"), List.of("admin", "auditor"))
        .put("client.address", "203.0.113.7")
        .put("user_agent.original", "example-agent/1.0")
        .put("audit.workspace.id", "acme")
        .put("audit.workspace.name", "Acme")
        .build();

    // A failed log-on: a catalogue action, so audit.category may be left out (the
    // collector fills in the catalogue's "authentication").
    out.add(emit(logger, Context.current(), "auth.login", true, "Log on failed", alice.toBuilder()
        .put("audit.outcome", "failure")
        .put("audit.reason", "wrong password")));

    // A profile change, inside a span: the record carries the span's trace context.
    SdkTracerProvider tracerProvider = SdkTracerProvider.builder().build();
    Span span = tracerProvider.get("audit-example").spanBuilder("PATCH /users/u-bob").startSpan();
    // A JSON array of {field, from, to}: attribute values cannot hold null or nesting.
    String changes = "[{\"field\":\"email\",\"from\":\"bob@old.example\",\"to\":\"bob@example.com\"},"
        + "{\"field\":\"password\",\"from\":\"hunter2\",\"to\":\"correct horse battery staple\"}]";
    out.add(emit(logger, Context.current().with(span), "user.update", false, null, alice.toBuilder()
        .put("audit.category", "iam")
        .put("audit.outcome", "success")
        .put("audit.resource.type", "user")
        .put("audit.resource.id", "u-bob")
        .put("audit.resource.name", "Bob Builder")
        .put("audit.changes", changes)
        .put("audit.request.id", "r-2")
        .put("audit.request.parent_id", "r-1")
        .put("audit.correlation_id", "req-42")
        .put("session.id", "s-1")
        .put("audit.metadata.ticket", "CHG-42")
        .put("audit.metadata.attempts", 3L)
        .put("audit.metadata.dry_run", false)
        .put("audit.metadata.api_key", "sk_live_51HxExampleSecretValue")));
    span.end();
    tracerProvider.shutdown().join(10, TimeUnit.SECONDS);

    // Shutdown flushes the batch; a failure here means the events may not have arrived.
    CompletableResultCode shutdown = provider.shutdown().join(30, TimeUnit.SECONDS);
    if (!shutdown.isSuccess() || exportFailed.get()) {
      throw new IllegalStateException("exporting the audit events to " + base + " failed");
    }
    out.forEach(System.out::println);
  }

  /** Emits one audit record; returns the JSON line describing it. */
  static String emit(Logger logger, Context context, String action, boolean failed, String body, AttributesBuilder attrs) {
    // Nanoseconds since the epoch: the SDK converts an Instant, so the unit is always right.
    Instant now = Instant.now();
    // A UUID per event: the collector stores a retried record once.
    String id = UUID.randomUUID().toString();
    var record = logger.logRecordBuilder()
        // The event name is the audit action; the collector also reads the event.name attribute.
        .setEventName(action)
        .setTimestamp(now)
        .setContext(context)
        .setSeverity(failed ? Severity.WARN : Severity.INFO)
        .setAllAttributes(attrs.put("log.record.uid", id).build());
    if (body != null) record.setBody(body);
    record.emit();

    long nanos = now.getEpochSecond() * 1_000_000_000L + now.getNano();
    StringBuilder line = new StringBuilder()
        .append("{\"id\":\"").append(id)
        .append("\",\"action\":\"").append(action)
        .append("\",\"timeUnixNano\":\"").append(nanos).append('"');
    SpanContext sc = Span.fromContext(context).getSpanContext();
    if (sc.isValid()) {
      line.append(",\"traceId\":\"").append(sc.getTraceId()).append("\",\"spanId\":\"").append(sc.getSpanId()).append('"');
    }
    return line.append('}').toString();
  }

  static LogRecordExporter failureNoting(LogRecordExporter delegate, AtomicBoolean failed) {
    return new LogRecordExporter() {
      @Override
      public CompletableResultCode export(Collection<LogRecordData> logs) {
        CompletableResultCode result = delegate.export(logs);
        result.whenComplete(() -> {
          if (!result.isSuccess()) failed.set(true);
        });
        return result;
      }

      @Override
      public CompletableResultCode flush() {
        return delegate.flush();
      }

      @Override
      public CompletableResultCode shutdown() {
        return delegate.shutdown();
      }
    };
  }

  static String env(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isBlank() ? fallback : value;
  }
}
