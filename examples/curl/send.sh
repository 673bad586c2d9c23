#!/usr/bin/env bash
# Sends one audit event as raw OTLP/JSON, without any SDK:
#
#   OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 ./send.sh
#
# Optional: OTEL_SERVICE_NAME (default curl-example), AUDIT_SENDER_TOKEN (when the collector
# has sender tokens), AUDIT_TIME_UNIX_NANO (default: now). Prints the collector's answer:
# `{}` when the record was stored, otherwise a partialSuccess naming why it was refused.
# Exits non-zero when the request failed or a record was refused.
set -euo pipefail

endpoint="${OTEL_EXPORTER_OTLP_ENDPOINT:-http://127.0.0.1:4318}"
service="${OTEL_SERVICE_NAME:-curl-example}"
# Nanoseconds since the epoch, as a decimal string (OTLP/JSON writes 64-bit integers as strings).
time_ns="${AUDIT_TIME_UNIX_NANO:-$(date +%s%N)}"
# A fresh UUID per event: sending the same record again (a retry) is then stored once.
id="$(cat /proc/sys/kernel/random/uuid 2>/dev/null || uuidgen)"

auth=()
if [[ -n "${AUDIT_SENDER_TOKEN:-}" ]]; then auth=(-H "authorization: Bearer ${AUDIT_SENDER_TOKEN}"); fi

body=$(cat <<JSON
{
  "resourceLogs": [{
    "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "${service}" } }] },
    "scopeLogs": [{
      "scope": { "name": "audit" },
      "logRecords": [{
        "timeUnixNano": "${time_ns}",
        "eventName": "api_token.create",
        "severityNumber": 9,
        "severityText": "INFO",
        "body": { "stringValue": "API token created for the CI pipeline" },
        "attributes": [
          { "key": "log.record.uid", "value": { "stringValue": "${id}" } },
          { "key": "audit.outcome", "value": { "stringValue": "success" } },
          { "key": "user.id", "value": { "stringValue": "u-alice" } },
          { "key": "audit.actor.type", "value": { "stringValue": "user" } },
          { "key": "user.roles", "value": { "arrayValue": { "values": [{ "stringValue": "admin" }] } } },
          { "key": "client.address", "value": { "stringValue": "192.0.2.10" } },
          { "key": "audit.resource.type", "value": { "stringValue": "api_token" } },
          { "key": "audit.resource.id", "value": { "stringValue": "tok-7" } },
          { "key": "audit.metadata.expires_in_days", "value": { "intValue": "90" } }
        ]
      }]
    }]
  }]
}
JSON
)

answer=$(curl --silent --show-error --fail-with-body "${auth[@]}" \
  -H 'content-type: application/json' --data-binary "${body}" "${endpoint%/}/v1/logs")
echo "{\"id\":\"${id}\",\"timeUnixNano\":\"${time_ns}\",\"answer\":${answer}}"
# A 200 answer can still refuse records: OTLP reports them in partialSuccess.
if [[ "${answer}" == *rejectedLogRecords* ]]; then exit 2; fi
