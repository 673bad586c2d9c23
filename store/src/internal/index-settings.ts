import { ConfigError } from '@otel-audit/contract';

/**
 * How the daily indices are spread over a cluster, and how long a write waits for copies.
 * One shard and `auto_expand_replicas: 0-1` suit one node (no replica it could never place,
 * a replica as soon as a second node joins); a real cluster sets its own (docs/running-on-a-cluster.md).
 */
export interface IndexLayout {
  /** Primary shards of each daily event index. Default: 1 (a day of audit events is small). */
  shards?: number;
  /**
   * Replicas of every audit index: a count (`1`), or an `auto_expand_replicas` range
   * (`0-1`, `1-all`) that follows the number of nodes. Default: `0-1`.
   */
  replicas?: number | string;
  /** `index.refresh_interval` of the event indices (`1s`, `30s`, `-1`). Default: unset, Elasticsearch's own (1s, skipped while idle). */
  refreshInterval?: string;
  /**
   * Copies (primary included) that must be active before a bulk write proceeds: a number,
   * or `all`. Default: unset, Elasticsearch's own (1, the primary).
   */
  waitForActiveShards?: number | 'all';
}

const REPLICA_RANGE = /^(\d{1,3})-(\d{1,3}|all)$/;
const INTERVAL = /^(-1|\d{1,6}(ms|s|m|h))$/;

/** Checks a layout, naming the bad value; the checked copy, frozen. */
export function checkedLayout(layout: IndexLayout, names: Record<keyof IndexLayout, string> = OPTION_NAMES): Readonly<IndexLayout> {
  try {
    checkLayout(layout, names);
  } catch (err) {
    // Under its environment names (AUDIT_ES_…), a start-up configuration error.
    const { key, value, message } = err as Error & { key: string; value: string };
    if (names !== OPTION_NAMES) throw new ConfigError(key, message, { value });
    throw err;
  }
  return Object.freeze({ ...layout });
}

function checkLayout(layout: IndexLayout, names: Record<keyof IndexLayout, string>): void {
  const { shards, replicas, refreshInterval, waitForActiveShards } = layout;
  const fail = (key: keyof IndexLayout, message: string) => Object.assign(new Error(message), { key: names[key], value: String(layout[key]) });
  if (shards !== undefined && (!Number.isInteger(shards) || shards < 1 || shards > 1024)) {
    throw fail('shards', `${names.shards} must be an integer from 1 to 1024, got ${JSON.stringify(shards)}`);
  }
  if (replicas !== undefined) {
    const range = typeof replicas === 'string' ? REPLICA_RANGE.exec(replicas) : null;
    const count = typeof replicas === 'number' && Number.isInteger(replicas) && replicas >= 0 && replicas <= 100;
    if (!count && !(range && (range[2] === 'all' || Number(range[1]) <= Number(range[2])))) {
      throw fail('replicas', `${names.replicas} must be a replica count from 0 to 100 or a range like 0-1 or 1-all, got ${JSON.stringify(replicas)}`);
    }
  }
  if (refreshInterval !== undefined && !INTERVAL.test(refreshInterval)) {
    throw fail('refreshInterval', `${names.refreshInterval} must be a time like 1s, 500ms or 30s, or -1 (never), got ${JSON.stringify(refreshInterval)}`);
  }
  if (waitForActiveShards !== undefined && waitForActiveShards !== 'all') {
    if (!Number.isInteger(waitForActiveShards) || waitForActiveShards < 1 || waitForActiveShards > 101) {
      throw fail('waitForActiveShards', `${names.waitForActiveShards} must be all or an integer from 1 to 101, got ${JSON.stringify(waitForActiveShards)}`);
    }
    // More copies than an index has: every write would wait its full timeout and then fail.
    const most = typeof replicas === 'number' ? replicas + 1 : typeof replicas === 'string' ? mostCopies(replicas) : 2;
    if (most !== undefined && waitForActiveShards > most) {
      throw fail(
        'waitForActiveShards',
        `${names.waitForActiveShards} (${waitForActiveShards}) exceeds the copies of each shard (${most}, from ${names.replicas}=${JSON.stringify(replicas ?? DEFAULT_REPLICAS)}): every write would time out`,
      );
    }
  }
}

function mostCopies(range: string): number | undefined {
  const upper = REPLICA_RANGE.exec(range)?.[2];
  return upper === undefined || upper === 'all' ? undefined : Number(upper) + 1;
}

const DEFAULT_SHARDS = 1;
const DEFAULT_REPLICAS = '0-1';

const OPTION_NAMES: Record<keyof IndexLayout, string> = {
  shards: 'shards',
  replicas: 'replicas',
  refreshInterval: 'refreshInterval',
  waitForActiveShards: 'waitForActiveShards',
};

export const LAYOUT_ENV_NAMES: Record<keyof IndexLayout, string> = {
  shards: 'AUDIT_ES_SHARDS',
  replicas: 'AUDIT_ES_REPLICAS',
  refreshInterval: 'AUDIT_ES_REFRESH_INTERVAL',
  waitForActiveShards: 'AUDIT_ES_WAIT_FOR_ACTIVE_SHARDS',
};

/** The replica part of an index's settings. */
export function replicaSettings(layout: IndexLayout): Record<string, unknown> {
  const replicas = layout.replicas ?? DEFAULT_REPLICAS;
  // auto_expand_replicas wins over number_of_replicas; a fixed count must turn it off.
  return typeof replicas === 'number' ? { number_of_replicas: replicas, auto_expand_replicas: false } : { auto_expand_replicas: replicas };
}

/** Settings of the daily event indices: shards, replicas, refresh. */
export function eventIndexSettings(layout: IndexLayout): Record<string, unknown> {
  return {
    number_of_shards: layout.shards ?? DEFAULT_SHARDS,
    ...replicaSettings(layout),
    ...(layout.refreshInterval !== undefined ? { refresh_interval: layout.refreshInterval } : {}),
  };
}

/**
 * `AUDIT_ES_SHARDS`, `AUDIT_ES_REPLICAS` (a count or a range like `0-1`),
 * `AUDIT_ES_REFRESH_INTERVAL` and `AUDIT_ES_WAIT_FOR_ACTIVE_SHARDS` (a count or `all`);
 * unset ones keep the defaults. Strict: `2.0`, `1e1` or ` 3x` fail with the variable named.
 */
export function indexLayoutFromEnv(env: NodeJS.ProcessEnv): Readonly<IndexLayout> {
  const raw = (key: keyof IndexLayout) => env[LAYOUT_ENV_NAMES[key]]?.trim() || undefined;
  const integer = (key: keyof IndexLayout, text: string) => {
    if (!/^\d{1,4}$/.test(text)) throw new ConfigError(LAYOUT_ENV_NAMES[key], `${LAYOUT_ENV_NAMES[key]} must be a whole number, got ${JSON.stringify(text)}`, { value: text });
    return Number(text);
  };
  const layout: IndexLayout = {};
  const shards = raw('shards');
  if (shards !== undefined) layout.shards = integer('shards', shards);
  const replicas = raw('replicas');
  if (replicas !== undefined) layout.replicas = /^\d+$/.test(replicas) ? integer('replicas', replicas) : replicas;
  const refresh = raw('refreshInterval');
  if (refresh !== undefined) layout.refreshInterval = refresh;
  const wait = raw('waitForActiveShards');
  if (wait !== undefined) layout.waitForActiveShards = wait === 'all' ? 'all' : integer('waitForActiveShards', wait);
  return checkedLayout(layout, LAYOUT_ENV_NAMES);
}
