import type { AuditCategory, AuditEvent } from './audit-event.js';

/**
 * Elastic Common Schema categorisation (`event.category`, `event.type`), so Kibana's
 * security views understand the events. Our categories are product words; ECS has a
 * fixed list, so some map onto the nearest ECS value.
 */
const ECS_CATEGORY: Record<AuditCategory, string> = {
  authentication: 'authentication',
  session: 'session',
  iam: 'iam',
  configuration: 'configuration',
  data: 'database',
  ui: 'configuration',
  system: 'host',
  workflow: 'process',
  search: 'database',
};

// By the verb, the last segment of the action: `api_token.create` → creation.
const ECS_TYPE_BY_VERB: Record<string, string> = {
  create: 'creation',
  add: 'creation',
  update: 'change',
  change: 'change',
  publish: 'change',
  archive: 'change',
  unarchive: 'change',
  reassign: 'change',
  enable: 'change',
  disable: 'change',
  retry: 'change',
  rollback: 'change',
  error: 'error',
  delete: 'deletion',
  remove: 'deletion',
  login: 'start',
  start: 'start',
  logout: 'end',
  complete: 'end',
  cancel: 'end',
  read: 'access',
  access: 'access',
  search: 'access',
  export: 'access',
};

export function ecsCategorization(event: Pick<AuditEvent, 'action' | 'category'>): { category: string[]; type: string[] } {
  const verb = event.action.slice(event.action.lastIndexOf('.') + 1);
  return { category: [ECS_CATEGORY[event.category]], type: [ECS_TYPE_BY_VERB[verb] ?? 'info'] };
}
