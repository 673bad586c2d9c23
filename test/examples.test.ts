import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '@otel-audit/contract';
import { createAuditLogger } from '@otel-audit/instrumentation';
// @ts-expect-error: the example is plain JavaScript, as an app developer would copy it.
import { buildApp, runDemo } from '../examples/fastify-app.mjs';
import { startSqliteCollector } from './support/sqlite-collector.js';

describe('examples/fastify-app.mjs against the real collector', () => {
  it('records every security event of a session, with context, and no secret', async () => {
    const collector = await startSqliteCollector();
    const audit = createAuditLogger({ serviceName: 'example-fastify-app', endpoint: collector.url });
    const app = buildApp({ audit, trustedProxies: ['127.0.0.1'] });
    try {
      const tokenValue: string = await runDemo(app);
      await audit.flush();
      const events: AuditEvent[] = [];
      for await (const e of collector.store.query({ from: new Date(0), to: new Date(Date.now() + 60_000) })) events.push(e);
      expect(events.map((e) => [e.action, e.outcome])).toEqual([
        ['auth.login', 'failure'],
        ['auth.login', 'success'],
        ['user.update', 'success'],
        ['api_token.create', 'success'],
        ['platform.search', 'success'],
        ['api_token.delete', 'success'],
        ['auth.logout', 'success'],
      ]);
      expect(events[0]!.client).toEqual({ ip: '198.51.100.66', userAgent: 'Mozilla/5.0 (demo)' });
      expect(events[0]!.reason).toBe('invalid credentials');
      expect(events.slice(1).every((e) => e.client?.ip === '203.0.113.7' && e.actor.id === 'u-alice')).toBe(true);
      expect(events[2]!.changes).toEqual([
        { field: 'email', from: 'alice@example.com', to: 'alice.martin@example.com' },
        { field: 'password', from: '[REDACTED]', to: '[REDACTED]' },
      ]);
      expect(events[3]!.resource).toMatchObject({ type: 'api_token', name: 'CI deploy token' });
      const everything = JSON.stringify(events);
      expect(everything).not.toContain(tokenValue);
      expect(everything).not.toContain('wonderland');
      expect(everything).not.toContain('new-secret');
    } finally {
      await app.close();
      await audit.shutdown();
      await collector.close();
    }
  });
});
