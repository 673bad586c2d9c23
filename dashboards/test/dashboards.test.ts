import { readFileSync } from 'node:fs';
import { AUDIT_ACTIONS } from '@otel-audit/contract';
import { EVENT_MAPPINGS } from '../../store/src/internal/ecs-document.js';
import { describe, expect, it } from 'vitest';

/**
 * The saved objects are checked offline against the index template's mapping as the code defines it:
 * a field renamed in EVENT_MAPPINGS breaks this test instead of leaving an empty panel in Kibana.
 */
const DATA_VIEW_ID = 'otel-audit-events';
const text = readFileSync(new URL('../otel-audit.ndjson', import.meta.url), 'utf8');
const lines = text.split('\n').filter((l) => l.trim() !== '');

interface SavedObject {
  id: string;
  type: string;
  attributes: Record<string, unknown>;
  references: { id: string; name: string; type: string }[];
}
const objects = lines.map((l) => JSON.parse(l) as SavedObject);
const byType = (type: string) => objects.filter((o) => o.type === type);

type Mapping = { type?: string; properties?: Record<string, Mapping>; fields?: Record<string, Mapping> };

/** Dotted field name → mapping type, including multi-field sub-fields such as user.name.text. */
function flatten(properties: Record<string, Mapping>, prefix = '', out = new Map<string, string>()): Map<string, string> {
  for (const [name, m] of Object.entries(properties)) {
    const path = `${prefix}${name}`;
    if (m.properties) flatten(m.properties, `${path}.`, out);
    else out.set(path, m.type ?? 'object');
    if (m.fields) flatten(m.fields, `${path}.`, out);
  }
  return out;
}
const FIELDS = flatten(EVENT_MAPPINGS.properties as unknown as Record<string, Mapping>);

/** Field names of a KQL query: every `name:` outside quoted strings. */
function kqlFields(query: string): string[] {
  const unquoted = query.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...unquoted.matchAll(/([@A-Za-z_][\w.@]*)\s*:/g)].map((m) => m[1]!);
}

/** The values a query compares a field with, quoted or bare, one level of `(a or b)` deep. */
function kqlValues(query: string, field: string): string[] {
  const escaped = field.replace(/[.@]/g, '\\$&');
  const out: string[] = [];
  for (const m of query.matchAll(new RegExp(`${escaped}\\s*:\\s*(\\([^)]*\\)|"[^"]*"|[^\\s)]+)`, 'g'))) {
    const raw = m[1]!.replace(/^\(|\)$/g, '');
    for (const v of raw.split(/\s+or\s+/i)) out.push(v.trim().replace(/^"|"$/g, ''));
  }
  return out;
}

function searchSource(o: SavedObject): { query?: { query: string; language: string }; indexRefName?: string; filter?: unknown[] } {
  const meta = o.attributes.kibanaSavedObjectMeta as { searchSourceJSON: string } | undefined;
  return meta ? (JSON.parse(meta.searchSourceJSON) as ReturnType<typeof searchSource>) : {};
}

interface LensColumn { operationType: string; sourceField?: string; dataType: string; params?: { orderBy?: { type: string; columnId?: string } } }
interface LensState {
  datasourceStates: { formBased: { layers: Record<string, { columnOrder: string[]; columns: Record<string, LensColumn> }> } };
  query: { query: string; language: string };
  visualization: { layers: { layerId: string; accessors: string[]; xAccessor?: string; splitAccessor?: string }[] };
}
const lensState = (o: SavedObject) => o.attributes.state as LensState;

/** Every query a saved object carries, with where it comes from. */
function queries(o: SavedObject): { where: string; query: string; language: string }[] {
  const out: { where: string; query: string; language: string }[] = [];
  const ss = searchSource(o).query;
  if (ss) out.push({ where: `${o.id} searchSourceJSON`, ...ss });
  if (o.type === 'lens') out.push({ where: `${o.id} state.query`, ...lensState(o).query });
  return out;
}

describe('dashboards/otel-audit.ndjson', () => {
  it('is one JSON saved object a line, with unique ids', () => {
    expect(lines.length).toBeGreaterThan(0);
    for (const o of objects) {
      expect(typeof o.id).toBe('string');
      expect(typeof o.type).toBe('string');
      expect(o.attributes).toBeTypeOf('object');
      expect(Array.isArray(o.references)).toBe(true);
    }
    const ids = objects.map((o) => `${o.type}:${o.id}`);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(objects.map((o) => o.id)).size).toBe(objects.length);
  });

  it('holds the data view, five saved searches, five Lens visualizations and two dashboards', () => {
    const [dataView, ...otherViews] = byType('index-pattern');
    expect(otherViews).toEqual([]);
    expect(dataView).toMatchObject({ id: DATA_VIEW_ID, attributes: { title: 'audit-events-*', timeFieldName: '@timestamp' } });
    expect(FIELDS.get('@timestamp')).toBe('date');
    expect(byType('search')).toHaveLength(5);
    expect(byType('lens')).toHaveLength(5);
    expect(byType('dashboard').map((d) => d.attributes.title).sort()).toEqual([
      'otel-audit: Security overview',
      'otel-audit: Workspace activity',
    ]);
    expect(objects).toHaveLength(13);
  });

  it('has embedded JSON strings that parse', () => {
    for (const o of objects) {
      for (const [key, value] of Object.entries(o.attributes)) {
        // Kibana stores these attributes as JSON inside a string: *JSON names, and the data view's maps.
        if (/JSON$/.test(key) || ['fieldAttrs', 'fieldFormatMap', 'runtimeFieldMap', 'sourceFilters', 'fields'].includes(key)) {
          expect(() => JSON.parse(value as string), `${o.id} ${key}`).not.toThrow();
        }
      }
      const meta = o.attributes.kibanaSavedObjectMeta as { searchSourceJSON?: unknown } | undefined;
      if (meta) expect(() => JSON.parse(meta.searchSourceJSON as string), `${o.id} searchSourceJSON`).not.toThrow();
      if (o.type === 'lens') {
        expect(o.attributes.state, o.id).toBeTypeOf('object');
        expect(lensState(o).datasourceStates.formBased.layers, o.id).toBeTypeOf('object');
      }
    }
  });

  it('resolves every reference to an object in the file, of the referenced type', () => {
    const known = new Set(objects.map((o) => `${o.type}:${o.id}`));
    for (const o of objects) {
      for (const r of o.references) expect(known.has(`${r.type}:${r.id}`), `${o.id} → ${r.type}:${r.id}`).toBe(true);
    }
  });

  it('resolves each saved search indexRefName to the data view', () => {
    for (const o of byType('search')) {
      const { indexRefName, query } = searchSource(o);
      expect(indexRefName, o.id).toBeDefined();
      expect(query?.language, o.id).toBe('kuery');
      expect(o.references.find((r) => r.name === indexRefName), o.id).toMatchObject({ type: 'index-pattern', id: DATA_VIEW_ID });
    }
  });

  it('resolves each Lens layer to the data view', () => {
    for (const o of byType('lens')) {
      const state = lensState(o);
      for (const layerId of Object.keys(state.datasourceStates.formBased.layers)) {
        const ref = o.references.find((r) => r.name === `indexpattern-datasource-layer-${layerId}`);
        expect(ref, `${o.id} layer ${layerId}`).toMatchObject({ type: 'index-pattern', id: DATA_VIEW_ID });
      }
      // The chart's accessors name columns of the layer they sit on.
      for (const v of state.visualization.layers) {
        const layer = state.datasourceStates.formBased.layers[v.layerId];
        expect(layer, `${o.id} visualization layer ${v.layerId}`).toBeDefined();
        for (const col of [...v.accessors, v.xAccessor, v.splitAccessor].filter((c): c is string => c !== undefined)) {
          expect(layer!.columns[col], `${o.id} column ${col}`).toBeDefined();
          expect(layer!.columnOrder).toContain(col);
        }
      }
    }
  });

  it('resolves every dashboard panelRefName to a reference and the reference to an object', () => {
    for (const d of byType('dashboard')) {
      const panels = JSON.parse(d.attributes.panelsJSON as string) as { panelIndex: string; panelRefName: string; type: string }[];
      expect(panels.length, d.id).toBeGreaterThan(0);
      for (const p of panels) {
        // Kibana 8 exports name a panel's reference "<panelIndex>:<panelRefName>".
        const ref = d.references.find((r) => r.name === `${p.panelIndex}:${p.panelRefName}` || r.name === p.panelRefName);
        expect(ref, `${d.id} ${p.panelRefName}`).toBeDefined();
        expect(ref!.type).toBe(p.type);
        expect(objects.some((o) => o.type === ref!.type && o.id === ref!.id), `${d.id} → ${ref!.id}`).toBe(true);
      }
      expect(d.references).toHaveLength(panels.length);
    }
  });

  it('names in KQL only fields of EVENT_MAPPINGS, and only known actions and categories', () => {
    const actions = Object.keys(AUDIT_ACTIONS);
    const categories = new Set(Object.values(AUDIT_ACTIONS).map((a) => a.category));
    let checked = 0;
    for (const o of objects) {
      for (const q of queries(o)) {
        expect(q.language, q.where).toBe('kuery');
        for (const field of kqlFields(q.query)) {
          expect(FIELDS.has(field), `${q.where}: ${field} is not in EVENT_MAPPINGS`).toBe(true);
          checked++;
        }
        // A misspelt action matches nothing and looks like "no incidents": each value must match a real one.
        for (const v of kqlValues(q.query, 'event.action')) {
          const re = new RegExp(`^${v.replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`);
          expect(actions.some((a) => re.test(a)), `${q.where}: no action matches ${v}`).toBe(true);
        }
        for (const v of kqlValues(q.query, 'audit.category')) expect(categories.has(v as never), `${q.where}: ${v}`).toBe(true);
        for (const v of kqlValues(q.query, 'event.outcome')) expect(['success', 'failure', 'unknown'], q.where).toContain(v);
      }
    }
    expect(checked).toBeGreaterThanOrEqual(8);
  });

  it('aggregates only on fields whose mapping type fits the operation', () => {
    const fits: Record<string, string[]> = { terms: ['keyword', 'ip'], date_histogram: ['date'] };
    const seen: string[] = [];
    for (const o of byType('lens')) {
      for (const layer of Object.values(lensState(o).datasourceStates.formBased.layers)) {
        for (const [id, c] of Object.entries(layer.columns)) {
          if (c.operationType === 'count') {
            expect(c.sourceField, `${o.id} ${id}`).toBe('___records___');
            continue;
          }
          expect(Object.keys(fits), `${o.id} ${id}: ${c.operationType}`).toContain(c.operationType);
          const type = FIELDS.get(c.sourceField ?? '');
          expect(type, `${o.id} ${id}: ${c.sourceField} is not in EVENT_MAPPINGS`).toBeDefined();
          expect(fits[c.operationType], `${o.id} ${id}: ${c.sourceField} is ${type}`).toContain(type);
          expect(c.dataType, `${o.id} ${id}`).toBe(type === 'keyword' ? 'string' : type);
          if (c.params?.orderBy?.type === 'column') expect(layer.columns[c.params.orderBy.columnId!], `${o.id} ${id} orderBy`).toBeDefined();
          seen.push(`${c.operationType}:${c.sourceField}`);
        }
      }
    }
    expect(new Set(seen)).toEqual(
      new Set(['date_histogram:@timestamp', 'terms:audit.category', 'terms:user.id', 'terms:source.ip', 'terms:event.action', 'terms:organization.id']),
    );
  });

  it('labels in the data view only fields of EVENT_MAPPINGS, the trace context among them', () => {
    const [dataView] = byType('index-pattern');
    const attrs = JSON.parse(dataView!.attributes.fieldAttrs as string) as Record<string, { customLabel?: string }>;
    for (const field of Object.keys(attrs)) expect(FIELDS.has(field), `fieldAttrs ${field}`).toBe(true);
    expect(attrs['trace.id']?.customLabel).toBe('Trace ID');
    expect(FIELDS.get('trace.id')).toBe('keyword');
    expect(FIELDS.get('span.id')).toBe('keyword');
  });

  it('shows the trace id in every saved search, to go from a finding to the request that caused it', () => {
    for (const o of byType('search')) expect(o.attributes.columns, o.id).toContain('trace.id');
  });

  it('shows in saved searches only columns and sorts of EVENT_MAPPINGS', () => {
    for (const o of byType('search')) {
      for (const c of o.attributes.columns as string[]) expect(FIELDS.has(c), `${o.id} column ${c}`).toBe(true);
      for (const [field] of o.attributes.sort as [string, string][]) expect(FIELDS.get(field), `${o.id} sort ${field}`).toBe('date');
    }
  });
});
