// Sends audit events to an otel-audit collector with the OpenTelemetry Go SDK: the log
// bridge API (go.opentelemetry.io/otel/log) on the log SDK, exported by otlploghttp.
//
//	OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_SERVICE_NAME=billing go run .
//
// Every attribute below is described in docs/wire-contract.md. The program prints one JSON
// line per event it sent (id, action, timeUnixNano, traceId) so a reader, or the test in
// test/foreign-senders.test.ts, can look each one up.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

type sent struct {
	ID           string `json:"id"`
	Action       string `json:"action"`
	TimeUnixNano string `json:"timeUnixNano"`
	TraceID      string `json:"traceId,omitempty"`
	SpanID       string `json:"spanId,omitempty"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	// Endpoint, headers (a sender token: OTEL_EXPORTER_OTLP_HEADERS="authorization=Bearer ...")
	// and TLS come from the standard OTEL_EXPORTER_OTLP_* variables.
	exporter, err := otlploghttp.New(ctx)
	if err != nil {
		return err
	}
	// The default resource reads OTEL_SERVICE_NAME: the collector stores it as service.name.
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exporter)))
	logger := provider.Logger("audit")
	var out []sent

	emit := func(ctx context.Context, action string, failed bool, body string, attrs ...attribute.KeyValue) {
		var r otellog.Record
		// The event name is the audit action; the collector also reads the event.name attribute.
		r.SetEventName(action)
		// Nanoseconds since the epoch: the SDK converts a time.Time, so the unit is always right.
		now := time.Now()
		r.SetTimestamp(now)
		if failed {
			r.SetSeverity(otellog.SeverityWarn)
		} else {
			r.SetSeverity(otellog.SeverityInfo)
		}
		if body != "" {
			r.SetBody(attribute.StringValue(body))
		}
		// A UUID per event: the collector stores a retried record once.
		id := uuid.Must(uuid.NewV7()).String()
		r.AddAttributes(attribute.String("log.record.uid", id))
		r.AddAttributes(attrs...)
		logger.Emit(ctx, r)
		s := sent{ID: id, Action: action, TimeUnixNano: fmt.Sprint(now.UnixNano())}
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			s.TraceID, s.SpanID = sc.TraceID().String(), sc.SpanID().String()
		}
		out = append(out, s)
	}

	alice := []attribute.KeyValue{
		attribute.String("user.id", "u-alice"),
		attribute.String("user.name", "Alice Martin"),
		attribute.String("audit.actor.type", "user"),
		attribute.String("user.email", "alice@example.com"),
		attribute.StringSlice("user.roles", []string{"admin", "auditor"}),
		attribute.String("client.address", "203.0.113.7"),
		attribute.String("user_agent.original", "example-agent/1.0"),
		attribute.String("audit.workspace.id", "acme"),
		attribute.String("audit.workspace.name", "Acme"),
	}

	// A failed log-on: a catalogue action, so audit.category may be left out (the
	// collector fills in the catalogue's "authentication").
	emit(ctx, "auth.login", true, "Log on failed", append(alice,
		attribute.String("audit.outcome", "failure"),
		attribute.String("audit.reason", "wrong password"),
	)...)

	// A profile change, inside a span: the record carries the span's trace context.
	tracer := sdktrace.NewTracerProvider().Tracer("audit-example")
	spanCtx, span := tracer.Start(ctx, "PATCH /users/u-bob")
	changes, _ := json.Marshal([]map[string]any{
		{"field": "email", "from": "bob@old.example", "to": "bob@example.com"},
		{"field": "password", "from": "hunter2", "to": "correct horse battery staple"},
	})
	emit(spanCtx, "user.update", false, "", append(alice,
		attribute.String("audit.category", "iam"),
		attribute.String("audit.outcome", "success"),
		attribute.String("audit.resource.type", "user"),
		attribute.String("audit.resource.id", "u-bob"),
		attribute.String("audit.resource.name", "Bob Builder"),
		// A JSON array of {field, from, to}: attribute values cannot hold null or nesting.
		attribute.String("audit.changes", string(changes)),
		attribute.String("audit.request.id", "r-2"),
		attribute.String("audit.request.parent_id", "r-1"),
		attribute.String("audit.correlation_id", "req-42"),
		attribute.String("session.id", "s-1"),
		attribute.String("audit.metadata.ticket", "CHG-42"),
		attribute.Int("audit.metadata.attempts", 3),
		attribute.Bool("audit.metadata.dry_run", false),
		attribute.String("audit.metadata.api_key", "sk_live_51HxExampleSecretValue"),
	)...)
	span.End()

	// Shutdown flushes the batch; an error here means the events may not have arrived.
	if err := provider.Shutdown(ctx); err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	for _, s := range out {
		if err := enc.Encode(s); err != nil {
			return err
		}
	}
	return nil
}
