/**
 * Realistic audit events at any count, deterministic by seed: the catalogue's mix of actions
 * (log on/off, record reads and updates and task actions most often), 200 users with their
 * IPv4/IPv6 addresses and browsers, 6 service accounts, 20 workspaces, resources, changes on
 * updates, metadata on a quarter of them; ids are UUIDv7 of the event time. Benchmarks and slow
 * tests share it so their numbers describe the same data.
 *
 *   const source = new EventSource(seed, total); source.take(1000)
 *   npx tsx bench/generate-events.ts 100000 [seed=1] > events.ndjson
 */
import { pathToFileURL } from 'node:url';
import { AUDIT_ACTIONS, isReservedAction, type AuditEvent } from '@otel-audit/contract';

/** Event times: one week, 7 daily indices; the run's stream of events moves through it. */
export const WINDOW_START = Date.parse('2025-03-03T00:00:00Z');
export const WINDOW_MS = 7 * 24 * 3600 * 1000;

// ---- realistic events, deterministic ---------------------------------------------------------

/** mulberry32: small, fast, good enough to make test data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = ['Alice', 'Bruno', 'Chloé', 'Dmitri', 'Emma', 'Farid', 'Grace', 'Hiro', 'Inès', 'Jonas', 'Kofi', 'Lena', 'Mateo', 'Nadia', 'Oskar', 'Priya', 'Quentin', 'Rosa', 'Sven', 'Tamar'];
const LAST = ['Martin', 'Nguyen', 'Okafor', 'Schmidt', 'Rossi', 'García', 'Kowalski', 'Haddad', 'Tanaka', 'Dubois', 'Silva', 'Jensen'];
const ROLES = ['admin', 'designer', 'analyst', 'participant', 'auditor', 'manager'];
const WORKSPACES = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Stark Industries', 'Wayne Enterprises', 'Hooli', 'Pied Piper', 'Vandelay', 'Soylent', 'Tyrell', 'Cyberdyne', 'Wonka', 'Gringotts', 'Aperture', 'Black Mesa', 'Oscorp', 'Massive Dynamic', 'Nakatomi', 'Monarch'];
const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
];
const SERVICE_AGENTS = ['python-requests/2.32.3', 'Go-http-client/1.1', 'curl/8.5.0', 'terraform-provider-acme/1.4.2'];
const SERVICES = ['processmaker-core', 'cyberpass', 'billing', 'identity'];
const WORDS = ['invoice', 'onboarding', 'quarterly', 'vendor', 'approval', 'expense', 'contract', 'renewal', 'payroll', 'audit', 'customer', 'incident', 'travel', 'budget', 'hiring', 'compliance'];
const FIELDS = ['name', 'status', 'email', 'owner', 'due_date', 'priority', 'enabled', 'timeout_seconds', 'description', 'assignee'];
const FAILURE_REASONS = ['invalid_credentials', 'mfa_failed', 'account_locked', 'password_expired'];
/** What a product sees most; every other catalogue action weighs 1. */
const HOT_ACTIONS: Record<string, number> = {
  'auth.login': 14, 'auth.logout': 7, 'collection_record.read': 10, 'collection_record.update': 6, 'collection_record.create': 4,
  'task.access': 6, 'task.complete': 6, 'request.start': 4, 'request.complete': 4, 'platform.search': 3, 'list.search': 3,
};

type Action = keyof typeof AUDIT_ACTIONS;

export class EventSource {
  readonly #rand: () => number;
  readonly #actions: Action[] = [];
  readonly #users: { actor: AuditEvent['actor']; ips: string[]; ua: string; workspaces: number[] }[] = [];
  readonly #services: { actor: AuditEvent['actor']; ip: string; ua: string; workspace: number }[] = [];
  #produced = 0;

  /** `total`: how many events the run will take, so their times cover the window once. */
  constructor(seed: number, readonly total: number, readonly idSalt = 0) {
    this.#rand = prng(seed);
    for (const action of Object.keys(AUDIT_ACTIONS) as Action[]) {
      // audit_log.* is written by the export service alone; the collector refuses it from apps.
      if (isReservedAction(action)) continue;
      for (let w = HOT_ACTIONS[action] ?? 1; w > 0; w--) this.#actions.push(action);
    }
    for (let i = 0; i < 200; i++) {
      const first = FIRST[i % FIRST.length]!;
      const last = LAST[Math.floor(i / FIRST.length) % LAST.length]!;
      const roles = [this.#pick(ROLES), ...(this.#chance(0.3) ? [this.#pick(ROLES)] : [])];
      this.#users.push({
        actor: { id: `u-${1000 + i}`, name: `${first} ${last}`, type: 'user', email: `${first}.${last}${i}@example.com`.toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, ''), roles: [...new Set(roles)] },
        ips: Array.from({ length: 1 + this.#int(3) }, () => this.#ip()),
        ua: this.#pick(USER_AGENTS),
        workspaces: Array.from({ length: 1 + this.#int(3) }, () => this.#int(WORKSPACES.length)),
      });
    }
    for (let i = 0; i < 6; i++) {
      this.#services.push({
        actor: { id: `svc-${i + 1}`, name: `${this.#pick(WORDS)} integration`, type: 'service' },
        ip: `10.20.${this.#int(256)}.${1 + this.#int(254)}`,
        ua: this.#pick(SERVICE_AGENTS),
        workspace: this.#int(WORKSPACES.length),
      });
    }
  }

  take(n: number): AuditEvent[] {
    return Array.from({ length: n }, () => this.next());
  }

  next(): AuditEvent {
    const k = this.#produced++;
    // The stream moves through the week; most events arrive within two minutes of happening,
    // a few are replayed from a spool up to 36 hours late (and land in an older daily index).
    // (Runs measured again take more than planned: they start the week over.)
    const clock = WINDOW_START + ((k % this.total) / this.total) * WINDOW_MS;
    const late = this.#chance(0.03) ? this.#rand() * 36 * 3600_000 : this.#rand() * 120_000;
    // (Early in the week there is nothing to be late for.)
    const ms = Math.floor(clock - late >= WINDOW_START ? clock - late : clock);
    const action = this.#pick(this.#actions);
    const def = AUDIT_ACTIONS[action];
    const [noun] = action.split('.') as [string];
    const verb = action.split('.').at(-1)!;
    const isAuth = noun === 'auth';
    const isSearch = verb === 'search';
    const system = noun === 'system';
    const user = this.#pick(this.#users);
    const service = !system && !isAuth && this.#chance(0.1) ? this.#pick(this.#services) : undefined;
    const failed = this.#chance(action === 'auth.login' ? 0.08 : 0.015);
    const event: AuditEvent = {
      id: this.#uuidv7(ms),
      time: new Date(ms).toISOString(),
      action,
      category: def.category,
      outcome: failed ? 'failure' : 'success',
      actor: system ? { id: 'system', name: 'Platform', type: 'system' } : (service?.actor ?? user.actor),
      message: def.message,
      service: { name: this.#pick(SERVICES) },
      correlationId: this.#hex(32),
      request: { id: `req-${this.#hex(16)}`, ...(this.#chance(0.2) ? { parentId: `req-${this.#hex(16)}` } : {}) },
    };
    if (failed) event.reason = action === 'auth.login' ? this.#pick(FAILURE_REASONS) : 'permission_denied';
    if (!system) {
      event.client = service ? { ip: service.ip, userAgent: service.ua } : { ip: this.#pick(user.ips), userAgent: user.ua };
      if (!service) event.sessionId = `sess-${this.#hex(24)}`;
    }
    if (!isAuth) {
      const ws = service ? service.workspace : this.#pick(user.workspaces);
      event.workspace = { id: `ws-${ws + 1}`, name: WORKSPACES[ws]! };
    }
    if (!isAuth && !isSearch) {
      const type = noun === 'settings' ? 'setting' : noun;
      const id = `${type.slice(0, 3)}-${this.#int(50_000)}`;
      event.resource = {
        type,
        id,
        name: `${this.#pick(WORDS)} ${this.#pick(WORDS)} ${this.#int(100)}`,
        ...(this.#chance(0.3) ? { href: `https://app.example.com/${type}s/${id}` } : {}),
      };
    }
    if (['update', 'enable', 'disable', 'reassign'].includes(verb)) {
      event.changes = Array.from({ length: 1 + this.#int(4) }, () => {
        const field = this.#pick(FIELDS);
        const kind = this.#int(4);
        if (kind === 0) return { field, from: this.#chance(0.5), to: this.#chance(0.5) };
        if (kind === 1) return { field, from: this.#int(600), to: this.#int(600) };
        if (kind === 2) return { field, from: null, to: `${this.#pick(WORDS)}` };
        return { field, from: `${this.#pick(WORDS)} ${this.#pick(WORDS)}`, to: `${this.#pick(WORDS)} ${this.#pick(WORDS)}` };
      });
    }
    if (isSearch) event.metadata = { query: `${this.#pick(WORDS)} ${this.#pick(WORDS)}`, results: this.#int(500), page: 1 + this.#int(5) };
    else if (this.#chance(0.25)) event.metadata = { via: this.#chance(0.7) ? 'ui' : 'api', duration_ms: this.#int(2000) };
    return event;
  }

  #int(n: number): number {
    return Math.floor(this.#rand() * n);
  }
  #chance(p: number): boolean {
    return this.#rand() < p;
  }
  #pick<T>(items: readonly T[]): T {
    return items[this.#int(items.length)]!;
  }
  #hex(chars: number): string {
    let s = '';
    while (s.length < chars) s += this.#int(2 ** 32).toString(16).padStart(8, '0');
    return s.slice(0, chars);
  }
  #ip(): string {
    const r = this.#rand();
    if (r < 0.15) return `2001:db8:${this.#int(0xffff).toString(16)}::${this.#int(0xffff).toString(16)}`;
    const nets = ['203.0.113', '198.51.100', '192.0.2', `10.${this.#int(256)}.${this.#int(256)}`];
    return `${this.#pick(nets)}.${1 + this.#int(254)}`;
  }
  /** A UUIDv7 for that millisecond, as the instrumentation makes one at record(). */
  #uuidv7(ms: number): string {
    const t = ms.toString(16).padStart(12, '0');
    const variant = (8 + this.#int(4)).toString(16);
    const tail = ((this.#int(2 ** 32) ^ this.idSalt) >>> 0).toString(16).padStart(8, '0') + this.#hex(4);
    return `${t.slice(0, 8)}-${t.slice(8)}-7${this.#hex(3)}-${variant}${this.#hex(3)}-${tail}`;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const count = Number(process.argv[2] ?? 1000);
  const source = new EventSource(Number(process.argv[3] ?? 1), count);
  for (let i = 0; i < count; i++) process.stdout.write(`${JSON.stringify(source.next())}\n`);
}
