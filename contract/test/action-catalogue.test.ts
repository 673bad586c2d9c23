import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ACTION_PATTERN,
  AUDIT_ACTIONS,
  AUDIT_CATEGORIES,
  actionDefinition,
  catalogueMarkdownTable,
  validateAuditEvent,
  type ActionDefinition,
  type KnownAuditAction,
} from '@otel-audit/contract';

const entries = Object.entries(AUDIT_ACTIONS) as [KnownAuditAction, ActionDefinition][];

/**
 * Every activity the two product pages list, one or more names per bullet. Typed as
 * KnownAuditAction so a removed entry fails the type check as well as this suite.
 */
const REQUIRED: readonly KnownAuditAction[] = [
  // ProcessMaker: log on (success and failure are outcomes of one action), log off
  'auth.login',
  'auth.logout',
  // User profile changes
  'user.update',
  'group_membership.update',
  'permission.update',
  'api_token.create',
  'api_token.update',
  'api_token.delete',
  // Collections and collection records
  'collection.read',
  'collection.create',
  'collection.update',
  'collection.delete',
  'collection_record.read',
  'collection_record.create',
  'collection_record.update',
  'collection_record.delete',
  // Settings
  'settings.email_server.create',
  'settings.email_server.update',
  'settings.sso.enable',
  'settings.sso.update',
  'settings.integration.enable',
  'settings.integration.update',
  'settings.ldap.enable',
  'settings.ldap.update',
  'settings.scim.enable',
  'settings.scim.update',
  'settings.user_signals.enable',
  'settings.user_signals.disable',
  'settings.user_extended_properties.update',
  'settings.time_zone.update',
  // Customize UI, including deletions
  'ui_customization.update',
  'ui_customization.delete',
  // System messages
  'system.alert',
  'system.error',
  // Processes
  'process.create',
  'process.update',
  'process.publish',
  'process.archive',
  'process.unarchive',
  // Designer assets
  ...(['process_template', 'screen', 'script', 'environment_variable', 'data_connector', 'pm_block', 'decision_table', 'vocabulary'] as const).flatMap(
    (asset) => [`${asset}.create`, `${asset}.update`, `${asset}.delete`] as const,
  ),
  // Non-Designer assets
  ...(['saved_search', 'saved_search_chart', 'auth_client', 'script_executor', 'dashboard', 'menu', 'translation'] as const).flatMap(
    (asset) => [`${asset}.create`, `${asset}.update`, `${asset}.delete`] as const,
  ),
  // Global and local search
  'platform.search',
  'list.search',
  // Tasks
  'task.access',
  'task.reassign',
  'task.retry',
  'task.rollback',
  'task.complete',
  // Requests
  'request.start',
  'request.cancel',
  'request.complete',
  // Queue Management / Laravel Horizon
  'queue_management.access',
  // Create a user or group
  'user.create',
  'group.create',
  // CyberPass: LOGIN (above), CREATE and UPDATE on USER, WORKSPACE, CERTIFICATION, FILE
  'workspace.create',
  'workspace.update',
  'certification.create',
  'certification.update',
  'file.create',
  'file.update',
  // otel-audit's own looks at the log
  'audit_log.search',
  'audit_log.export',
  'audit_log.export.end',
];

describe('action catalogue', () => {
  it('names every action in the contract form resource.verb', () => {
    const pattern = new RegExp(ACTION_PATTERN);
    const bad = entries.map(([action]) => action).filter((action) => !pattern.test(action));
    expect(bad).toEqual([]);
  });

  it('uses only contract categories', () => {
    const bad = entries.filter(([, d]) => !(AUDIT_CATEGORIES as readonly string[]).includes(d.category));
    expect(bad).toEqual([]);
  });

  it('has a short, non-empty default message for every action', () => {
    const bad = entries.filter(([, d]) => d.message.trim().length === 0 || d.message.length > 120);
    expect(bad).toEqual([]);
  });

  it('covers every activity of both product pages', () => {
    expect(REQUIRED.length).toBeGreaterThanOrEqual(40);
    const missing = REQUIRED.filter((action) => actionDefinition(action) === undefined);
    expect(missing).toEqual([]);
  });

  it('credits shared activities to both pages', () => {
    for (const action of ['auth.login', 'user.create', 'user.update'] as const) {
      expect([...AUDIT_ACTIONS[action].source].sort()).toEqual(['cyberpass', 'processmaker']);
    }
  });

  it('records log-on failure as an outcome of auth.login, and log off as a session action', () => {
    expect(actionDefinition('auth.login')?.category).toBe('authentication');
    expect(actionDefinition('auth.logout')?.category).toBe('session');
    expect(Object.keys(AUDIT_ACTIONS).filter((a) => a.startsWith('auth.login'))).toEqual(['auth.login']);
  });

  it('finds known actions and nothing from the prototype', () => {
    expect(actionDefinition('api_token.create')).toEqual({ category: 'iam', message: 'API token created', source: ['processmaker'] });
    for (const name of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'no.such_action']) {
      expect(actionDefinition(name)).toBeUndefined();
    }
  });

  it('builds a valid event from every entry', () => {
    const problems = entries.flatMap(([action, { category, message }]) => {
      const result = validateAuditEvent({
        id: '01a20127-faaf-7079-9fbd-fdd6c53d7560',
        time: new Date().toISOString(),
        outcome: 'success',
        action,
        category,
        actor: { id: 'u', type: 'user' },
        message,
      });
      return result.ok ? [] : [`${action}: ${result.problems.join('; ')}`];
    });
    expect(problems).toEqual([]);
  });

  it('renders one sorted table row per action', () => {
    const rows = catalogueMarkdownTable().split('\n').slice(2);
    const actions = rows.map((row) => /^\| `([^`]+)` \|/.exec(row)?.[1]);
    const sorted = Object.keys(AUDIT_ACTIONS).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(actions).toEqual(sorted);
  });

  it('matches instrumentation/CATALOGUE.md (regenerate: npx tsx scripts/write-catalogue.ts)', () => {
    const file = readFileSync(new URL('../../instrumentation/CATALOGUE.md', import.meta.url), 'utf8');
    expect(file).toBe(`# Audit action catalogue\n\n${catalogueMarkdownTable()}\n`);
  });
});
