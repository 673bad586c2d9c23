import type { Client } from '@elastic/elasticsearch';
import { isResponseError } from './es-client.js';
import {
  DIGESTS_INDEX,
  DIGEST_MAPPINGS,
  EVENT_MAPPINGS,
  INDEX_PREFIX,
  REJECTED_MAPPINGS,
  REJECTED_PREFIX,
  REJECTED_TEMPLATE_NAME,
  READ_ALIAS,
  TEMPLATE_NAME,
} from './ecs-document.js';
import { RETENTION_POLICY_NAME, lifecycleSettings, retentionPolicy } from './retention-policy.js';
import { eventIndexSettings, replicaSettings, type IndexLayout } from './index-settings.js';

/**
 * The index templates of events, dead letters and digests, the retention policy where asked
 * and the cluster has ILM, and the mapping additions older daily indices need. Answers `ilm`
 * when the templates attach the retention policy, `none` when they do not.
 */
export async function installIndexTemplates(client: Client, opts: IndexLayout & { retentionDays?: number }): Promise<'ilm' | 'none'> {
  try {
    const days = opts.retentionDays ?? 0;
    const ilm = days > 0 && (await hasIlm(client));
    if (ilm) await client.ilm.putLifecycle({ name: RETENTION_POLICY_NAME, ...retentionPolicy(days) });
    const lifecycle = ilm ? lifecycleSettings() : {};
    await client.indices.putIndexTemplate({
      name: TEMPLATE_NAME,
      index_patterns: [`${INDEX_PREFIX}*`],
      priority: 200,
      template: {
        // One replica where the cluster has room for it, none on a single node.
        settings: { ...eventIndexSettings(opts), ...lifecycle },
        mappings: EVENT_MAPPINGS as never,
        aliases: { [READ_ALIAS]: {} },
      },
      _meta: { description: 'otel-audit events: one index per UTC day of event time' },
    });
    await client.indices.putIndexTemplate({
      name: REJECTED_TEMPLATE_NAME,
      index_patterns: [`${REJECTED_PREFIX}*`],
      priority: 200,
      template: { settings: { number_of_shards: 1, ...replicaSettings(opts), ...lifecycle }, mappings: REJECTED_MAPPINGS as never },
      _meta: { description: 'otel-audit dead letters: records the collector refused, with the reason' },
    });
    await client.indices.putIndexTemplate({
      name: DIGESTS_INDEX,
      index_patterns: [`${DIGESTS_INDEX}*`],
      priority: 200,
      template: { settings: { number_of_shards: 1, ...replicaSettings(opts) }, mappings: DIGEST_MAPPINGS as never },
      _meta: { description: 'otel-audit signed digests of the collectors\' hash chains' },
    });
    // Daily indices created before chaining (or before trace context) have a strict
    // mapping without audit.chain (or trace.id, span.id): today's would refuse every
    // such write until midnight.
    const { audit, trace, span } = EVENT_MAPPINGS.properties;
    await client.indices
      .putMapping({ index: `${INDEX_PREFIX}*`, allow_no_indices: true, properties: { audit, trace, span } as never })
      .catch((err: unknown) => {
        if (!(isResponseError(err, 404))) throw err;
      });
    // Likewise today's dead-letter index from before issue 14 would refuse `audit.*`.
    await client.indices
      .putMapping({ index: `${REJECTED_PREFIX}*`, allow_no_indices: true, properties: { audit: REJECTED_MAPPINGS.properties.audit } as never })
      .catch((err: unknown) => {
        if (!(isResponseError(err, 404))) throw err;
      });
    return ilm ? 'ilm' : 'none';
  } catch (err) {
    if (isResponseError(err, 403)) {
      // Least privilege: the collector's user may only create documents.
      throw new Error(
        'this Elasticsearch user may not install the index template (it needs manage_index_templates, and manage_ilm for the retention policy): ' +
          'run `otel-audit setup` once as the admin user, then start with AUDIT_ES_INSTALL_TEMPLATE=false',
        { cause: err },
      );
    }
    throw err;
  }
}

/**
 * ILM is a module, not part of the core: the minimal distribution answers its routes with
 * 404 or 405, a full one with its status. Anything but an answer naming the operation
 * mode counts as no ILM, so a template never names a setting the cluster cannot parse.
 */
async function hasIlm(client: Client): Promise<boolean> {
  try {
    const status = await client.ilm.getStatus();
    return typeof status.operation_mode === 'string';
  } catch (err) {
    if (isResponseError(err, 400, 404, 405)) return false;
    throw err;
  }
}
