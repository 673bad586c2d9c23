import type { Client } from '@elastic/elasticsearch';
import { isResponseError } from './es-client.js';
import { INDEX_PREFIX, REJECTED_PREFIX } from './ecs-document.js';

/**
 * Whole daily indices, never documents: deleting an index is cheap and leaves no
 * half-deleted day behind. A day goes only when all of it is before the cutoff, and an
 * index whose name is not exactly `<prefix>YYYY.MM.DD` is never touched.
 */
export async function deleteDailyIndices(client: Client, cutoff: Date): Promise<{ deleted: number; units: string[] }> {
  let listed: { index?: string; 'docs.count'?: string | null }[];
  try {
    listed = (await client.cat.indices({
      index: [`${INDEX_PREFIX}*`, `${REJECTED_PREFIX}*`],
      format: 'json',
      h: ['index', 'docs.count'],
      expand_wildcards: ['open', 'closed'],
    })) as typeof listed;
  } catch (err) {
    if (isResponseError(err, 404)) return { deleted: 0, units: [] };
    throw err;
  }
  const old = listed
    .filter((row): row is { index: string; 'docs.count'?: string | null } => typeof row.index === 'string')
    .filter((row) => {
      const end = dayEndOf(row.index);
      return end !== undefined && end <= cutoff.getTime();
    })
    .sort((a, b) => a.index.localeCompare(b.index));
  const units: string[] = [];
  let deleted = 0;
  // In slices: a few years of daily indices in one request would outgrow a URL line.
  for (let i = 0; i < old.length; i += 50) {
    const slice = old.slice(i, i + 50);
    await client.indices.delete({ index: slice.map((row) => row.index), ignore_unavailable: true });
    for (const row of slice) {
      units.push(row.index);
      deleted += Number(row['docs.count'] ?? 0) || 0;
    }
  }
  return { deleted, units };
}

const DAILY_INDEX = new RegExp(`^(?:${INDEX_PREFIX}|${REJECTED_PREFIX})(\\d{4})\\.(\\d{2})\\.(\\d{2})$`);

/** When the day of a daily index ends (ms), or undefined for a name that is not one. */
export function dayEndOf(index: string): number | undefined {
  const m = DAILY_INDEX.exec(index);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const start = new Date(Date.UTC(y, mo - 1, d));
  // 2023.02.30 would roll over to March: such a name was not written by indexFor.
  if (start.getUTCFullYear() !== y || start.getUTCMonth() !== mo - 1 || start.getUTCDate() !== d) return undefined;
  return start.getTime() + 86_400_000;
}
