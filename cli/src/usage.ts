export const USAGE = `usage: otel-audit <command> [options]

commands:
  start            collector and export service in one process (the embedded default)
  collector        the OTLP collector alone (HTTP port 4318, gRPC port 4317)
  export-service   the export service alone (port 8080)
  setup            install the Elasticsearch index templates (run as the admin user);
                     --security also creates the roles and users (AUDIT_WRITER_PASSWORD,
                     AUDIT_READER_PASSWORD, AUDIT_ADMIN_PASSWORD, KIBANA_SYSTEM_PASSWORD)
  token            print a development JWT for the export service:
                     --sub <id> [--name <name>] [--workspace <id>]... [--permission <p>]...
                     [--super-admin] [--ttl 8h]
  dashboards import  import the Kibana dashboards, saved searches and data view:
                     --kibana-url <url> [--space <id>]
                     [--username <u> --password <p> | --api-key <key>]
  keygen           make an Ed25519 key pair for signed digests and manifests: --out <folder>
  verify           check the hash chains and signed digests in the store:
                     [--from <time>] [--to <time>] --public-key <pem>... [--json]
  verify-export    check an export file against its signed manifest:
                     <file> <manifest.json> --public-key <pem>... [--json]
  dead-letters     what the collector refused, as sent, and replay once the cause is fixed:
                     list [--since <time|24h>] [--service <name>] [--limit <n>] [--json]
                     show <id> [--json]
                     replay [--since <time|24h>] [--service <name>] | --id <id>... [--json]

Configuration comes from the environment; see docs/configuration.md.`;
