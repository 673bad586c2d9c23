// Records a few realistic audit events through the real OpenTelemetry SDK exporter.
//   OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 node examples/record-events.mjs
import { createAuditLogger } from '@otel-audit/instrumentation';

const audit = createAuditLogger({ serviceName: 'example-app' });
const alice = { id: 'u-alice', name: 'Alice Martin', type: 'user', email: 'alice@example.com', roles: ['admin'] };
const client = { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64)' };
const workspace = { id: 'acme', name: 'Acme Manufacturing' };

const ids = [
  audit.record({ action: 'auth.login', category: 'authentication', outcome: 'failure', reason: 'wrong password', actor: alice, client, workspace, message: 'Log on failed' }),
  audit.record({ action: 'auth.login', category: 'authentication', actor: alice, client, workspace, sessionId: 's-1', message: 'Logged on' }),
  audit.record({
    action: 'api_token.create',
    category: 'iam',
    actor: alice,
    client,
    workspace,
    sessionId: 's-1',
    resource: { type: 'api_token', id: 'tok-42', name: 'CI deploy token' },
    message: 'Created API token "CI deploy token"',
  }),
  audit.record({
    action: 'file.create',
    category: 'data',
    actor: alice,
    client,
    workspace,
    resource: { type: 'file', id: 'f-9', name: 'risk_assessment_vacuum_robot.pdf', href: 'https://cyberpass.example/files/f-9' },
    message: 'Uploaded a file',
  }),
  audit.record({ action: 'auth.logout', category: 'session', actor: alice, client, workspace, sessionId: 's-1', message: 'Logged off' }),
];

await audit.shutdown();
console.log(`recorded and delivered ${ids.length} audit events:\n${ids.join('\n')}`);
