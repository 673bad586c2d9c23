import { describe, expect, it } from 'vitest';
import { ConfigError } from '@otel-audit/contract';
import { ElasticsearchStore, storeConfigFromEnv } from '../src/index.js';
import { eventIndexSettings, replicaSettings } from '../src/internal/index-settings.js';

const URL_ENV = { ELASTICSEARCH_URL: 'http://127.0.0.1:9200' };

describe('index layout: shards, replicas, refresh, wait_for_active_shards', () => {
  it('keeps the one-node defaults when nothing is set', () => {
    const es = storeConfigFromEnv(URL_ENV).elasticsearch!;
    expect(eventIndexSettings(es)).toEqual({ number_of_shards: 1, auto_expand_replicas: '0-1' });
    expect(es.waitForActiveShards).toBeUndefined();
  });

  it('reads a cluster layout from the environment', () => {
    const es = storeConfigFromEnv({
      ...URL_ENV,
      AUDIT_ES_SHARDS: '3',
      AUDIT_ES_REPLICAS: '1',
      AUDIT_ES_REFRESH_INTERVAL: '5s',
      AUDIT_ES_WAIT_FOR_ACTIVE_SHARDS: '2',
    }).elasticsearch!;
    // A fixed count turns auto-expansion off: Elasticsearch lets auto_expand_replicas win otherwise.
    expect(eventIndexSettings(es)).toEqual({ number_of_shards: 3, number_of_replicas: 1, auto_expand_replicas: false, refresh_interval: '5s' });
    expect(es.waitForActiveShards).toBe(2);
    expect(replicaSettings({ replicas: '1-all' })).toEqual({ auto_expand_replicas: '1-all' });
    expect(storeConfigFromEnv({ ...URL_ENV, AUDIT_ES_WAIT_FOR_ACTIVE_SHARDS: 'all' }).elasticsearch!.waitForActiveShards).toBe('all');
  });

  it.each([
    ['AUDIT_ES_SHARDS', '0'],
    ['AUDIT_ES_SHARDS', '2.0'],
    ['AUDIT_ES_SHARDS', '1e1'],
    ['AUDIT_ES_REPLICAS', 'one'],
    ['AUDIT_ES_REPLICAS', '2-1'],
    ['AUDIT_ES_REPLICAS', '-1'],
    ['AUDIT_ES_REFRESH_INTERVAL', '5 seconds'],
    ['AUDIT_ES_REFRESH_INTERVAL', '5'],
    ['AUDIT_ES_WAIT_FOR_ACTIVE_SHARDS', '0'],
    ['AUDIT_ES_WAIT_FOR_ACTIVE_SHARDS', 'most'],
  ])('refuses %s=%s at start-up, naming it (even without ELASTICSEARCH_URL)', (name, value) => {
    for (const env of [{ ...URL_ENV, [name]: value }, { [name]: value }]) {
      let error: unknown;
      try {
        storeConfigFromEnv(env);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).key).toBe(name);
      expect((error as Error).message).toContain(name);
      expect((error as Error).message).toContain(value);
    }
  });

  it('refuses to wait for more copies than a shard has', () => {
    expect(() => storeConfigFromEnv({ ...URL_ENV, AUDIT_ES_REPLICAS: '1', AUDIT_ES_WAIT_FOR_ACTIVE_SHARDS: '3' })).toThrow(
      /AUDIT_ES_WAIT_FOR_ACTIVE_SHARDS \(3\) exceeds the copies of each shard \(2, from AUDIT_ES_REPLICAS=1\)/,
    );
    // The default 0-1 has at most two copies.
    expect(() => storeConfigFromEnv({ ...URL_ENV, AUDIT_ES_WAIT_FOR_ACTIVE_SHARDS: '3' })).toThrow(/AUDIT_ES_WAIT_FOR_ACTIVE_SHARDS \(3\)/);
  });

  it('checks the same options given to the store directly', () => {
    expect(() => new ElasticsearchStore({ url: URL_ENV.ELASTICSEARCH_URL, shards: 0 })).toThrow(/shards must be an integer from 1 to 1024, got 0/);
    expect(() => new ElasticsearchStore({ url: URL_ENV.ELASTICSEARCH_URL, replicas: '1-x' })).toThrow(/replicas must be/);
  });
});
