/**
 * The collector's counters, in the Prometheus text exposition format (version 0.0.4).
 * A handful of counters, two gauges and one histogram do not need a metrics library.
 */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Distinct service labels on otel_audit_records_rejected_total before the rest count as `other`. */
export const REJECTED_SERVICES_MAX = 100;

/** A label value in the text format: backslash, double quote and line feed escaped. */
function labelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export class CollectorMetrics {
  received = 0;
  /** Stored, or durably spooled: what the collector acknowledged. */
  accepted = 0;
  stored = 0;
  duplicates = 0;
  spooled = 0;
  replayed = 0;
  retries = 0;
  refusedRequests = 0;
  rateLimitedRequests = 0;
  timedOutRequests = 0;
  /** Spans received on /v1/traces, and those of them without any audit event (acknowledged, not stored). */
  spansReceived = 0;
  spansIgnored = 0;
  #latency = { buckets: LATENCY_BUCKETS.map(() => 0), sum: 0, count: 0 };

  constructor(private readonly spoolState: () => { records: number; bytes: number }) {}

  /** By service and reason; see `rejectedKey`. */
  rejected = new Map<string, number>();
  readonly #rejectedServices = new Set<string>();

  /**
   * `service` is the sender's service.name: declared, not proven, when sender tokens are
   * off, so a sender could invent one per record. Past REJECTED_SERVICES_MAX distinct
   * names the rest count as `other`, which keeps /metrics (and Prometheus) bounded.
   */
  reject(reason: string, n = 1, service?: string | undefined): void {
    let label = service ?? '';
    if (!this.#rejectedServices.has(label)) {
      if (this.#rejectedServices.size >= REJECTED_SERVICES_MAX) label = 'other';
      else this.#rejectedServices.add(label);
    }
    const key = JSON.stringify([label, reason]);
    this.rejected.set(key, (this.rejected.get(key) ?? 0) + n);
  }

  observeStoreLatency(seconds: number): void {
    this.#latency.sum += seconds;
    this.#latency.count += 1;
    LATENCY_BUCKETS.forEach((le, i) => {
      if (seconds <= le) this.#latency.buckets[i]! += 1;
    });
  }

  render(): string {
    const spool = this.spoolState();
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, samples: [string, number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
    };
    metric('otel_audit_records_received_total', 'counter', 'Log records received.', [['', this.received]]);
    metric('otel_audit_records_accepted_total', 'counter', 'Records acknowledged: stored or durably spooled.', [['', this.accepted]]);
    metric(
      'otel_audit_records_rejected_total',
      'counter',
      'Records refused and kept in the dead-letter store, by sender service.name and reason.',
      [...this.rejected].map(([key, n]) => {
        const [service, reason] = JSON.parse(key) as [string, string];
        return [`{service="${labelValue(service)}",reason="${labelValue(reason)}"}`, n];
      }),
    );
    metric('otel_audit_records_stored_total', 'counter', 'Records created in the store.', [['', this.stored]]);
    metric('otel_audit_records_duplicate_total', 'counter', 'Records already in the store (retries, replays).', [['', this.duplicates]]);
    metric('otel_audit_records_spooled_total', 'counter', 'Records written to the spool while the store was unavailable.', [['', this.spooled]]);
    metric('otel_audit_records_replayed_total', 'counter', 'Spooled records later written to the store.', [['', this.replayed]]);
    metric('otel_audit_store_retries_total', 'counter', 'Store writes retried.', [['', this.retries]]);
    metric('otel_audit_requests_refused_total', 'counter', 'Requests answered 503 because nothing could keep them.', [['', this.refusedRequests]]);
    metric('otel_audit_requests_rate_limited_total', 'counter', "Requests answered 429 because their sender was over its rate limit.", [['', this.rateLimitedRequests]]);
    metric('otel_audit_requests_timed_out_total', 'counter', 'Connections closed with 408 because headers or body did not arrive in time.', [['', this.timedOutRequests]]);
    metric('otel_audit_spans_received_total', 'counter', 'Spans received on /v1/traces.', [['', this.spansReceived]]);
    metric('otel_audit_spans_ignored_total', 'counter', 'Spans received without any audit event: acknowledged, not stored.', [['', this.spansIgnored]]);
    metric('otel_audit_spool_records', 'gauge', 'Records waiting in the spool.', [['', spool.records]]);
    metric('otel_audit_spool_bytes', 'gauge', 'Bytes of records waiting in the spool.', [['', spool.bytes]]);
    lines.push('# HELP otel_audit_store_write_seconds Latency of store writes.', '# TYPE otel_audit_store_write_seconds histogram');
    LATENCY_BUCKETS.forEach((le, i) => lines.push(`otel_audit_store_write_seconds_bucket{le="${le}"} ${this.#latency.buckets[i]}`));
    lines.push(`otel_audit_store_write_seconds_bucket{le="+Inf"} ${this.#latency.count}`);
    lines.push(`otel_audit_store_write_seconds_sum ${this.#latency.sum}`, `otel_audit_store_write_seconds_count ${this.#latency.count}`);
    return `${lines.join('\n')}\n`;
  }
}
