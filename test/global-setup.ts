import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startElasticsearch, stopElasticsearch, unavailableReason } from '../scripts/elasticsearch.js';
import type { ElasticsearchForTests } from './support/elasticsearch.js';

declare module 'vitest' {
  export interface ProvidedContext {
    elasticsearch: ElasticsearchForTests | null;
  }
}

/**
 * Starts one real Elasticsearch node for the whole run, or uses ELASTICSEARCH_URL.
 * Without a JDK or Maven the Elasticsearch suites are skipped with one line saying why;
 * with CI=true or AUDIT_REQUIRE_ES=1 that is a failure instead.
 */
export default async function setup(project: TestProject) {
  const required = process.env.CI === 'true' || process.env.AUDIT_REQUIRE_ES === '1';
  const external = process.env.ELASTICSEARCH_URL;
  if (external) {
    const creds = { username: process.env.ELASTICSEARCH_USERNAME ?? '', password: process.env.ELASTICSEARCH_PASSWORD ?? '' };
    const es: ElasticsearchForTests = { url: external, version: 'external', admin: creds, writer: creds, reader: creds };
    console.log(`[otel-audit] Elasticsearch suites use ELASTICSEARCH_URL=${external}`);
    project.provide('elasticsearch', es);
    return;
  }
  const reason = unavailableReason();
  if (reason) {
    const fix = 'Install a JDK 17 or 21 and Maven, or set ELASTICSEARCH_URL';
    if (required) throw new Error(`Elasticsearch is required here (CI=true or AUDIT_REQUIRE_ES=1) but cannot run: ${reason}. ${fix}.`);
    console.log(`[otel-audit] Elasticsearch suites skipped: ${reason}. ${fix} to run them.`);
    project.provide('elasticsearch', null);
    return;
  }
  const runDir = mkdtempSync(join(tmpdir(), 'otel-audit-es-'));
  const started = Date.now();
  const node = await startElasticsearch({ runDir });
  console.log(`[otel-audit] Elasticsearch ${node.version} started at ${node.url} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  project.provide('elasticsearch', {
    url: node.url,
    version: node.version,
    admin: node.admin,
    writer: node.writer,
    reader: node.reader,
  });
  return async () => {
    await stopElasticsearch(node.pid);
    // node.runDir differs from runDir when nobody could not reach runDir (a private TMPDIR, as root).
    for (const dir of new Set([runDir, node.runDir])) rmSync(dir, { recursive: true, force: true });
  };
}
