import { parseArgs } from 'node:util';
import { loadOrCreateDevSecret, maxTokenTtlMsFromEnv, signToken } from '@otel-audit/exporter-service';
import { storeConfigFromEnv } from '@otel-audit/store';

/** `otel-audit token`: a development JWT for the export service. */
export async function tokenCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      sub: { type: 'string' },
      name: { type: 'string' },
      workspace: { type: 'string', multiple: true },
      permission: { type: 'string', multiple: true },
      'super-admin': { type: 'boolean' },
      ttl: { type: 'string' },
    },
    strict: true,
  });
  if (!values.sub) throw new Error('token: --sub <user id> is required');
  if (process.env.AUDIT_JWKS_URL) throw new Error('token: AUDIT_JWKS_URL is set; tokens come from your identity provider');
  const secret = process.env.AUDIT_JWT_SECRET || loadOrCreateDevSecret(storeConfigFromEnv().dataDir);
  const jwt = await signToken(secret, {
    sub: values.sub,
    name: values.name,
    workspaces: values.workspace ?? [],
    permissions: values.permission ?? [],
    superAdmin: values['super-admin'] ?? false,
    ...(values.ttl ? { expiresIn: values.ttl } : {}),
    // The service's own limit: a longer token would be refused at its first use.
    maxTtlMs: maxTokenTtlMsFromEnv(),
  });
  process.stdout.write(`${jwt}\n`);
}
