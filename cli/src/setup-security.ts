import { Client } from '@elastic/elasticsearch';
import { AUDIT_ROLES, AUDIT_USERS } from '@otel-audit/store';

export interface SecuritySetup {
  url: string;
  /** A user allowed to manage security (the `elastic` superuser at first start). */
  username: string;
  password: string;
  /** Passwords of the users to create, by user name; a user without one is left alone. */
  passwords: Partial<Record<keyof typeof AUDIT_USERS, string>>;
  /** When set, the built-in `kibana_system` user gets this password (Kibana's connection). */
  kibanaSystemPassword?: string | undefined;
}

/**
 * Creates (or updates, idempotently) the least-privilege roles and their users through
 * the security API, on a cluster whose native realm works: the deployment's set-up step.
 * The minimal distribution the tests run cannot store native users (its `.security`
 * index needs a module it lacks), so the test node gets the same roles from its file
 * realm instead (scripts/elasticsearch.ts).
 */
export async function setupSecurity(s: SecuritySetup): Promise<string[]> {
  const client = new Client({ node: s.url, auth: { username: s.username, password: s.password } });
  const done: string[] = [];
  try {
    for (const [name, role] of Object.entries(AUDIT_ROLES)) {
      await client.security.putRole({ name, cluster: [...role.cluster], indices: role.indices.map((i) => ({ names: [...i.names], privileges: [...i.privileges] })) });
      done.push(`role ${name}`);
    }
    for (const [user, role] of Object.entries(AUDIT_USERS) as [keyof typeof AUDIT_USERS, string][]) {
      const password = s.passwords[user];
      if (!password) continue;
      await client.security.putUser({ username: user, password, roles: [role] });
      done.push(`user ${user}`);
    }
    if (s.kibanaSystemPassword) {
      await client.security.changePassword({ username: 'kibana_system', password: s.kibanaSystemPassword });
      done.push('user kibana_system');
    }
  } finally {
    await client.close();
  }
  return done;
}
