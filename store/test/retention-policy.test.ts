import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElasticsearchStore, INDEX_PREFIX, RETENTION_POLICY_NAME, indexFor } from '@otel-audit/store';
import { REJECTED_PREFIX, REJECTED_TEMPLATE_NAME, TEMPLATE_NAME } from '../src/internal/ecs-document.js';
import { retentionPolicy } from '../src/internal/retention-policy.js';
import { elasticsearch } from '../../test/support/elasticsearch.js';
import { validEvent } from '../../test/support/otlp-json.js';

const es = elasticsearch();

describe('the ILM retention policy', () => {
  it('deletes a day two days after the period: one for the day itself, one for the collector job to go first', () => {
    expect(retentionPolicy(30).policy.phases).toEqual({ hot: { min_age: '0ms', actions: {} }, delete: { min_age: '32d', actions: { delete: {} } } });
    expect(() => retentionPolicy(0)).toThrow(/positive integer/);
    expect(() => retentionPolicy(1.5)).toThrow(/positive integer/);
  });

  it('can count age from the index name: daily index names have the form ILM parses (`<name>-yyyy.MM.dd[-digits]`)', () => {
    // The rule `index.lifecycle.parse_origination_date` applies; an index it cannot parse
    // would fail to be created, so every name the collector writes must fit.
    const ilmOrigin = /^.*-(\d{4}\.\d{2}\.\d{2})(?:-\d+)?$/;
    for (const name of [indexFor('2025-03-03T23:59:59.999Z'), indexFor('2025-03-03T00:00:00Z', REJECTED_PREFIX)]) {
      expect(ilmOrigin.exec(name)?.[1]).toBe('2025.03.03');
    }
  });
});

describe.skipIf(es === null)('templates on a cluster without ILM (the real test node)', () => {
  it('are installed without lifecycle settings, and events still index', async () => {
    const admin = new ElasticsearchStore({ url: es!.url, ...es!.admin, retentionDays: 30 });
    try {
      await admin.init();
      expect(admin.lifecycle).toBe('none');
      const { index_templates } = await admin.client.indices.getIndexTemplate({ name: TEMPLATE_NAME });
      expect(JSON.stringify(index_templates[0]!.index_template.template?.settings ?? {})).not.toContain('lifecycle');
      const event = validEvent({ time: '1988-03-03T10:00:00Z' });
      expect(await admin.insert([event])).toEqual({ created: 1, duplicates: 0, failed: [] });
    } finally {
      await admin.client.indices.delete({ index: indexFor('1988-03-03T10:00:00Z'), ignore_unavailable: true });
      await admin.close();
    }
  });
});

// The test node is the minimal distribution, which has no ILM module: this is the one part
// of the store that talks to a stand-in, which answers as a cluster with ILM would.
describe('templates on a cluster with ILM (fake Elasticsearch: the test node has no ILM)', () => {
  let fake: FastifyInstance;
  let url: string;
  const seen: { method: string; url: string; body: unknown }[] = [];

  beforeAll(async () => {
    fake = Fastify();
    // The client sends `application/vnd.elasticsearch+json; compatible-with=8`.
    fake.addContentTypeParser(/^application\/vnd\.elasticsearch\+json/, { parseAs: 'string' }, (_req, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch (err) {
        done(err as Error);
      }
    });
    fake.addHook('onSend', async (_req, reply) => {
      // The official client refuses answers without it.
      reply.header('x-elastic-product', 'Elasticsearch');
    });
    fake.get('/_ilm/status', async () => ({ operation_mode: 'RUNNING' }));
    fake.put('/_ilm/policy/:name', async (req) => {
      seen.push({ method: 'PUT', url: req.url, body: req.body });
      return { acknowledged: true };
    });
    fake.put('/_index_template/:name', async (req) => {
      seen.push({ method: 'PUT', url: req.url, body: req.body });
      return { acknowledged: true };
    });
    // The mapping of existing daily indices brought up to date: no lifecycle business.
    fake.put('/:index/_mapping', async () => ({ acknowledged: true }));
    await fake.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
  });
  afterAll(() => fake.close());

  it('installs the delete policy first, then templates that attach it and date indices by their name', async () => {
    const store = new ElasticsearchStore({ url, retentionDays: 90 });
    await store.init();
    await store.close();
    expect(store.lifecycle).toBe('ilm');
    expect(seen.map((s) => s.url).slice(0, 3)).toEqual([`/_ilm/policy/${RETENTION_POLICY_NAME}`, `/_index_template/${TEMPLATE_NAME}`, `/_index_template/${REJECTED_TEMPLATE_NAME}`]);
    expect(seen[0]!.body).toMatchObject({ policy: { phases: { delete: { min_age: '92d', actions: { delete: {} } } } } });
    // Signed digests are the proof about events already gone: retention never deletes them.
    for (const other of seen.slice(3)) expect(JSON.stringify(other.body)).not.toContain('lifecycle');
    for (const template of seen.slice(1, 3)) {
      expect(template.body).toMatchObject({
        index_patterns: [expect.stringMatching(new RegExp(`^(${INDEX_PREFIX}|${REJECTED_PREFIX})\\*$`))],
        template: { settings: { 'index.lifecycle.name': RETENTION_POLICY_NAME, 'index.lifecycle.parse_origination_date': true } },
      });
    }
  });

  it('installs no policy when no retention period is set', async () => {
    seen.length = 0;
    const store = new ElasticsearchStore({ url });
    await store.init();
    await store.close();
    expect(store.lifecycle).toBe('none');
    expect(seen.map((s) => s.url).slice(0, 2)).toEqual([`/_index_template/${TEMPLATE_NAME}`, `/_index_template/${REJECTED_TEMPLATE_NAME}`]);
    expect(JSON.stringify(seen)).not.toContain('lifecycle');
  });
});
