import type { AuditCategory } from './audit-event.js';

/**
 * The standard audit actions: every activity the two product pages we follow say they log
 * (ProcessMaker Platform security logs, CyberPass audit logs), so that two applications
 * recording the same activity use the same action name, category and wording, and one
 * export reads the same across products.
 *
 * Categories follow what a reviewer of the log asks about, not which screen the action sits on:
 * - authentication: proving who you are (log on, succeeded or failed);
 * - session: ending what log-on started (log off);
 * - iam: who may do what: users, groups, memberships, permissions, API tokens, OAuth auth
 *   clients (a credential like a token, though the page lists it among assets) and workspaces
 *   (the team boundary that decides who sees what);
 * - configuration: instance-wide settings, including connections to other systems;
 * - ui: the Customize UI menu, kept apart from configuration because it changes appearance,
 *   not behaviour;
 * - system: what the platform itself reports or exposes to operators: alerts, errors, the queue
 *   dashboard;
 * - workflow: things that move work along: processes, requests, tasks, certifications;
 * - data: content users create and read: collections, records, designer and other assets, files,
 *   audit log exports;
 * - search: queries, where the query itself is the thing worth auditing.
 *
 * The verb is the last segment because the ECS mapping (ecs.ts) derives `event.type` from it;
 * verbs it does not know yet (enable, disable, retry, rollback, alert, error) map to `info`.
 * Outcome is not part of an action: a failed log-on is `auth.login` with outcome `failure`.
 */

export interface ActionDefinition {
  category: AuditCategory;
  /** Default human-readable message, used when record() gets none. Short, past tense or noun phrase: "Logged on", "API token created". */
  message: string;
  /**
   * Where the activity comes from: the product page(s) that list it. Empty for actions
   * otel-audit adds for itself (looks at the audit log), which neither page lists.
   */
  source: readonly ('processmaker' | 'cyberpass')[];
}

export const AUDIT_ACTIONS = {
  // ── ProcessMaker "Log on" / "Log off"; CyberPass LOGIN ─────────────────────────────
  'auth.login': { category: 'authentication', message: 'Logged on', source: ['processmaker', 'cyberpass'] },
  'auth.logout': { category: 'session', message: 'Logged off', source: ['processmaker'] },

  // ── ProcessMaker "User profile changes"; CyberPass CREATE/UPDATE on USER ───────────
  // Whose profile changed goes in `resource` (type `user`); the actor may be an administrator.
  'user.create': { category: 'iam', message: 'User created', source: ['processmaker', 'cyberpass'] },
  'user.update': { category: 'iam', message: 'User profile updated', source: ['processmaker', 'cyberpass'] },
  'group_membership.update': { category: 'iam', message: 'Group memberships updated', source: ['processmaker'] },
  // For a user's or a group's permissions alike: `resource.type` tells which.
  'permission.update': { category: 'iam', message: 'Permissions updated', source: ['processmaker'] },
  // Never the token value in the event: `resource` names the token by id and label only.
  'api_token.create': { category: 'iam', message: 'API token created', source: ['processmaker'] },
  'api_token.update': { category: 'iam', message: 'API token updated', source: ['processmaker'] },
  'api_token.delete': { category: 'iam', message: 'API token deleted', source: ['processmaker'] },
  // ProcessMaker "Create a user or group" (listed under other activities; users are above).
  'group.create': { category: 'iam', message: 'Group created', source: ['processmaker'] },

  // ── ProcessMaker "Collections" ──────────────────────────────────────────────────────
  // Reads are listed too: collections hold business data whose disclosure matters.
  'collection.read': { category: 'data', message: 'Collection read', source: ['processmaker'] },
  'collection.create': { category: 'data', message: 'Collection created', source: ['processmaker'] },
  'collection.update': { category: 'data', message: 'Collection updated', source: ['processmaker'] },
  'collection.delete': { category: 'data', message: 'Collection deleted', source: ['processmaker'] },
  'collection_record.read': { category: 'data', message: 'Collection record read', source: ['processmaker'] },
  'collection_record.create': { category: 'data', message: 'Collection record created', source: ['processmaker'] },
  'collection_record.update': { category: 'data', message: 'Collection record updated', source: ['processmaker'] },
  'collection_record.delete': { category: 'data', message: 'Collection record deleted', source: ['processmaker'] },

  // ── ProcessMaker "Settings" ─────────────────────────────────────────────────────────
  // The page says "including", so settings it does not name still need an action.
  'settings.update': { category: 'configuration', message: 'Setting changed', source: ['processmaker'] },
  // IMAP is one of the email server's configuration options, not an action of its own.
  'settings.email_server.create': { category: 'configuration', message: 'Email server created', source: ['processmaker'] },
  'settings.email_server.update': { category: 'configuration', message: 'Email server configuration updated', source: ['processmaker'] },
  // Turning an integration on widens what can reach the instance, so it is told apart from a
  // change of its options.
  'settings.sso.enable': { category: 'configuration', message: 'SSO option enabled', source: ['processmaker'] },
  'settings.sso.update': { category: 'configuration', message: 'SSO configuration updated', source: ['processmaker'] },
  // DocuSign, an IDP and the like: `resource.name` names the system, so new ones need no new action.
  'settings.integration.enable': { category: 'configuration', message: 'Integration enabled', source: ['processmaker'] },
  'settings.integration.update': { category: 'configuration', message: 'Integration configuration updated', source: ['processmaker'] },
  'settings.ldap.enable': { category: 'configuration', message: 'LDAP enabled', source: ['processmaker'] },
  'settings.ldap.update': { category: 'configuration', message: 'LDAP configuration updated', source: ['processmaker'] },
  'settings.scim.enable': { category: 'configuration', message: 'SCIM enabled', source: ['processmaker'] },
  'settings.scim.update': { category: 'configuration', message: 'SCIM configuration updated', source: ['processmaker'] },
  'settings.user_signals.enable': { category: 'configuration', message: 'User Signals enabled', source: ['processmaker'] },
  'settings.user_signals.disable': { category: 'configuration', message: 'User Signals disabled', source: ['processmaker'] },
  'settings.user_extended_properties.update': { category: 'configuration', message: 'User Extended Properties updated', source: ['processmaker'] },
  'settings.time_zone.update': { category: 'configuration', message: 'Time zone changed', source: ['processmaker'] },

  // ── ProcessMaker "Customize UI" ─────────────────────────────────────────────────────
  // A deletion resets a value rather than editing it, and reviewers look for those.
  'ui_customization.update': { category: 'ui', message: 'UI customization changed', source: ['processmaker'] },
  'ui_customization.delete': { category: 'ui', message: 'UI customization deleted', source: ['processmaker'] },

  // ── ProcessMaker "System messages" ──────────────────────────────────────────────────
  // The actor is the system (actor.type `system`) unless a user's action raised it; an error
  // within a request carries that request's id in `request.id`.
  'system.alert': { category: 'system', message: 'System alert', source: ['processmaker'] },
  'system.error': { category: 'system', message: 'System error', source: ['processmaker'] },

  // ── ProcessMaker "Other user activities": processes ─────────────────────────────────
  'process.create': { category: 'workflow', message: 'Process created', source: ['processmaker'] },
  'process.update': { category: 'workflow', message: 'Process updated', source: ['processmaker'] },
  'process.publish': { category: 'workflow', message: 'Process published', source: ['processmaker'] },
  'process.archive': { category: 'workflow', message: 'Process archived', source: ['processmaker'] },
  'process.unarchive': { category: 'workflow', message: 'Process unarchived', source: ['processmaker'] },

  // ── ProcessMaker "Other user activities": Designer assets ───────────────────────────
  'process_template.create': { category: 'data', message: 'Process template created', source: ['processmaker'] },
  'process_template.update': { category: 'data', message: 'Process template updated', source: ['processmaker'] },
  'process_template.delete': { category: 'data', message: 'Process template deleted', source: ['processmaker'] },
  'screen.create': { category: 'data', message: 'Screen created', source: ['processmaker'] },
  'screen.update': { category: 'data', message: 'Screen updated', source: ['processmaker'] },
  'screen.delete': { category: 'data', message: 'Screen deleted', source: ['processmaker'] },
  'script.create': { category: 'data', message: 'Script created', source: ['processmaker'] },
  'script.update': { category: 'data', message: 'Script updated', source: ['processmaker'] },
  'script.delete': { category: 'data', message: 'Script deleted', source: ['processmaker'] },
  // Never the variable's value in `changes`: environment variables commonly hold secrets.
  'environment_variable.create': { category: 'data', message: 'Environment variable created', source: ['processmaker'] },
  'environment_variable.update': { category: 'data', message: 'Environment variable updated', source: ['processmaker'] },
  'environment_variable.delete': { category: 'data', message: 'Environment variable deleted', source: ['processmaker'] },
  'data_connector.create': { category: 'data', message: 'Data connector created', source: ['processmaker'] },
  'data_connector.update': { category: 'data', message: 'Data connector updated', source: ['processmaker'] },
  'data_connector.delete': { category: 'data', message: 'Data connector deleted', source: ['processmaker'] },
  'pm_block.create': { category: 'data', message: 'PM Block created', source: ['processmaker'] },
  'pm_block.update': { category: 'data', message: 'PM Block updated', source: ['processmaker'] },
  'pm_block.delete': { category: 'data', message: 'PM Block deleted', source: ['processmaker'] },
  'decision_table.create': { category: 'data', message: 'Decision table created', source: ['processmaker'] },
  'decision_table.update': { category: 'data', message: 'Decision table updated', source: ['processmaker'] },
  'decision_table.delete': { category: 'data', message: 'Decision table deleted', source: ['processmaker'] },
  'vocabulary.create': { category: 'data', message: 'Vocabulary created', source: ['processmaker'] },
  'vocabulary.update': { category: 'data', message: 'Vocabulary updated', source: ['processmaker'] },
  'vocabulary.delete': { category: 'data', message: 'Vocabulary deleted', source: ['processmaker'] },

  // ── ProcessMaker "Other user activities": non-Designer assets ───────────────────────
  'saved_search.create': { category: 'data', message: 'Saved search created', source: ['processmaker'] },
  'saved_search.update': { category: 'data', message: 'Saved search updated', source: ['processmaker'] },
  'saved_search.delete': { category: 'data', message: 'Saved search deleted', source: ['processmaker'] },
  'saved_search_chart.create': { category: 'data', message: 'Saved search chart created', source: ['processmaker'] },
  'saved_search_chart.update': { category: 'data', message: 'Saved search chart updated', source: ['processmaker'] },
  'saved_search_chart.delete': { category: 'data', message: 'Saved search chart deleted', source: ['processmaker'] },
  // iam, not data: an auth client is an OAuth credential that lets software act on the API.
  'auth_client.create': { category: 'iam', message: 'Auth client created', source: ['processmaker'] },
  'auth_client.update': { category: 'iam', message: 'Auth client updated', source: ['processmaker'] },
  'auth_client.delete': { category: 'iam', message: 'Auth client deleted', source: ['processmaker'] },
  'script_executor.create': { category: 'data', message: 'Script executor created', source: ['processmaker'] },
  'script_executor.update': { category: 'data', message: 'Script executor updated', source: ['processmaker'] },
  'script_executor.delete': { category: 'data', message: 'Script executor deleted', source: ['processmaker'] },
  // Dynamic UI dashboards and menus are authored assets, not the instance's look (that is `ui`).
  'dashboard.create': { category: 'data', message: 'Dashboard created', source: ['processmaker'] },
  'dashboard.update': { category: 'data', message: 'Dashboard updated', source: ['processmaker'] },
  'dashboard.delete': { category: 'data', message: 'Dashboard deleted', source: ['processmaker'] },
  'menu.create': { category: 'data', message: 'Menu created', source: ['processmaker'] },
  'menu.update': { category: 'data', message: 'Menu updated', source: ['processmaker'] },
  'menu.delete': { category: 'data', message: 'Menu deleted', source: ['processmaker'] },
  'translation.create': { category: 'data', message: 'Translation created', source: ['processmaker'] },
  'translation.update': { category: 'data', message: 'Translation updated', source: ['processmaker'] },
  'translation.delete': { category: 'data', message: 'Translation deleted', source: ['processmaker'] },

  // ── ProcessMaker "Other user activities": search queries ────────────────────────────
  // Global search spans the whole platform; a local search filters one list, which
  // `resource.type` names (requests, tasks, …). The query text goes in `metadata`.
  'platform.search': { category: 'search', message: 'Global search query', source: ['processmaker'] },
  'list.search': { category: 'search', message: 'Local search query', source: ['processmaker'] },

  // ── ProcessMaker "Other user activities": tasks ─────────────────────────────────────
  // A task event carries its task in `resource` and the parent request's id in
  // `request.parentId`, which is how the page ties tasks to their request.
  'task.access': { category: 'workflow', message: 'Task opened', source: ['processmaker'] },
  'task.reassign': { category: 'workflow', message: 'Task reassigned', source: ['processmaker'] },
  'task.retry': { category: 'workflow', message: 'Task retried', source: ['processmaker'] },
  'task.rollback': { category: 'workflow', message: 'Task rolled back', source: ['processmaker'] },
  'task.complete': { category: 'workflow', message: 'Task completed', source: ['processmaker'] },

  // ── ProcessMaker "Other user activities": requests ──────────────────────────────────
  'request.start': { category: 'workflow', message: 'Request started', source: ['processmaker'] },
  'request.cancel': { category: 'workflow', message: 'Request canceled', source: ['processmaker'] },
  'request.complete': { category: 'workflow', message: 'Request completed', source: ['processmaker'] },

  // ── ProcessMaker "Other user activities": Queue Management / Laravel Horizon ────────
  // One action for every section: `resource.name` names the section, so a new section in
  // the dashboard needs no catalogue change.
  'queue_management.access': { category: 'system', message: 'Queue Management accessed', source: ['processmaker'] },

  // ── CyberPass CREATE/UPDATE on WORKSPACE, CERTIFICATION, FILE (USER is above) ───────
  'workspace.create': { category: 'iam', message: 'Workspace created', source: ['cyberpass'] },
  'workspace.update': { category: 'iam', message: 'Workspace updated', source: ['cyberpass'] },
  'certification.create': { category: 'workflow', message: 'Certification created', source: ['cyberpass'] },
  'certification.update': { category: 'workflow', message: 'Certification updated', source: ['cyberpass'] },
  // CyberPass's "Target" column (e.g. the file name) maps onto `resource.name`.
  'file.create': { category: 'data', message: 'File created', source: ['cyberpass'] },
  'file.update': { category: 'data', message: 'File updated', source: ['cyberpass'] },

  // ── otel-audit's own: looks at the audit log ────────────────────────────────────────
  // Who read or took away the log is itself audit-worthy; neither page lists it as an
  // activity, hence no source.
  'audit_log.search': { category: 'search', message: 'Audit log searched', source: [] },
  // An export is recorded twice: when it starts, before the first byte leaves (who, scope,
  // filters, format), and when it ends (rows and bytes sent; completed, aborted or failed),
  // so a download the client breaks off part-way is accounted for too.
  'audit_log.export': { category: 'data', message: 'Audit log export started', source: [] },
  'audit_log.export.end': { category: 'data', message: 'Audit log export ended', source: [] },
} as const satisfies Record<string, ActionDefinition>;

export type KnownAuditAction = keyof typeof AUDIT_ACTIONS;

/** The catalogue entry for an action, or undefined for an action the catalogue does not know. */
export function actionDefinition(action: string): ActionDefinition | undefined {
  // hasOwn, not `in` or indexing: 'toString' or '__proto__' must not pass for an action.
  return Object.hasOwn(AUDIT_ACTIONS, action) ? AUDIT_ACTIONS[action as KnownAuditAction] : undefined;
}

// A stray `|` would split a cell and break the table.
const cell = (value: string) => value.replaceAll('|', '\\|');

/**
 * The whole catalogue as a Markdown table, sorted by action, for READMEs to embed.
 * instrumentation/CATALOGUE.md is this table under a heading; regenerate it with
 * `npx tsx scripts/write-catalogue.ts` after changing the catalogue (a test fails until then).
 */
export function catalogueMarkdownTable(): string {
  // Code-unit order, not localeCompare: the output must not depend on the machine's locale.
  const actions = (Object.keys(AUDIT_ACTIONS) as KnownAuditAction[]).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const rows = actions.map((action) => {
    const { category, message, source } = AUDIT_ACTIONS[action] as ActionDefinition;
    const sources = source.length > 0 ? source.join(', ') : '(otel-audit)';
    return `| \`${action}\` | ${category} | ${cell(message)} | ${sources} |`;
  });
  return ['| action | category | default message | source |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
