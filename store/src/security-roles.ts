/**
 * Least privilege (docs/security-model.md), one definition for every place that creates
 * the roles: the test node's file realm (scripts/elasticsearch.ts) and `otel-audit
 * setup --security` on a real cluster.
 */
export const AUDIT_ROLES = {
  audit_writer: {
    cluster: [],
    indices: [
      { names: ['audit-events-*', 'audit-rejected-*'], privileges: ['create_doc', 'create_index'] },
      // Chaining (issue 8): the collector recovers its chain head after a restart and looks up
      // ids before it gives them positions, so it reads the events (never updates or deletes).
      // `maintenance` for refresh: the head must be read after the last acknowledged write.
      { names: ['audit-events*'], privileges: ['read', 'maintenance'] },
      { names: ['audit-digests*'], privileges: ['create_doc', 'create_index', 'read', 'maintenance'] },
    ],
  },
  audit_reader: {
    cluster: [],
    indices: [
      { names: ['audit-events*', 'audit-digests*'], privileges: ['read', 'view_index_metadata'] },
      // Background export jobs: the export service's own bookkeeping, never the events.
      { names: ['audit-export-jobs*'], privileges: ['read', 'write', 'create_index', 'view_index_metadata'] },
    ],
  },
  audit_admin: {
    cluster: ['manage_index_templates', 'manage_ilm', 'monitor'],
    indices: [{ names: ['audit-*'], privileges: ['all'] }],
  },
} as const;

/** The users `otel-audit setup --security` creates, by role. */
export const AUDIT_USERS = {
  'audit-writer': 'audit_writer',
  'audit-reader': 'audit_reader',
  'audit-admin': 'audit_admin',
} as const;
