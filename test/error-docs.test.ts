import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CollectorError, COLLECTOR_ERRORS } from '@otel-audit/collector';
import { CodedError, ConfigError } from '@otel-audit/store';
import { ExportError, EXPORT_ERRORS } from '@otel-audit/exporter-service';
import { AuditError, AUDIT_ERRORS, ERROR_CODES } from '@otel-audit/instrumentation';
import { SPOOL_ERRORS, SpoolLockedError, SpoolWriteError } from '@otel-audit/spool';
import { ERRORS_DOC, errorsDocument } from '../scripts/write-error-docs.js';

describe('docs/errors.md', () => {
  it('matches the error catalogues (regenerate: npx tsx scripts/write-error-docs.ts)', () => {
    expect(readFileSync(ERRORS_DOC, 'utf8')).toBe(errorsDocument());
  });

  it('lists every code of every catalogue with its HTTP status', () => {
    const doc = readFileSync(ERRORS_DOC, 'utf8');
    for (const [code, e] of [...Object.entries(COLLECTOR_ERRORS), ...Object.entries(EXPORT_ERRORS)]) {
      expect(doc).toMatch(new RegExp(`\\| \`${code}\` \\| ${e.status} \\|`));
    }
    for (const code of [...Object.keys(AUDIT_ERRORS), ...Object.keys(SPOOL_ERRORS), 'AUDIT_ERR_CONFIG']) expect(doc).toContain(`| \`${code}\` |`);
  });
});

describe('one error shape', () => {
  const cause = new Error('underneath');

  it('code, HTTP status, default message and cause, for every HTTP error', () => {
    for (const code of Object.keys(COLLECTOR_ERRORS) as (keyof typeof COLLECTOR_ERRORS)[]) {
      const e = new CollectorError(code, undefined, cause);
      expect(e).toBeInstanceOf(CodedError);
      expect(e).toMatchObject({ name: 'CollectorError', code, statusCode: COLLECTOR_ERRORS[code].status, message: COLLECTOR_ERRORS[code].message, cause });
    }
    for (const code of Object.keys(EXPORT_ERRORS) as (keyof typeof EXPORT_ERRORS)[]) {
      const e = new ExportError(code, undefined, cause);
      expect(e).toBeInstanceOf(CodedError);
      expect(e).toMatchObject({ name: 'ExportError', code, statusCode: EXPORT_ERRORS[code].status, message: EXPORT_ERRORS[code].message, cause });
      expect(new ExportError(code)).not.toHaveProperty('cause');
    }
  });

  it('code and cause without a status where no HTTP applies', () => {
    const audit = new AuditError('AUDIT_ERR_QUEUE_FULL', 'full', { capacity: 1 }, cause);
    expect(audit).toBeInstanceOf(CodedError);
    expect(audit).toMatchObject({ name: 'AuditError', code: ERROR_CODES.AUDIT_ERR_QUEUE_FULL, details: { capacity: 1 }, cause });
    expect(audit.statusCode).toBeUndefined();
    const config = new ConfigError('AUDIT_X', 'AUDIT_X is bad', { value: 'y', cause });
    expect(config).toMatchObject({ name: 'ConfigError', code: 'AUDIT_ERR_CONFIG', key: 'AUDIT_X', value: 'y', cause });
    const full = new SpoolWriteError('/spool', Object.assign(new Error('no space'), { code: 'ENOSPC' }));
    expect(full).toMatchObject({ code: 'AUDIT_ERR_SPOOL_DISK_FULL', errno: 'ENOSPC' });
    expect(full.cause).toBeInstanceOf(Error);
    expect(new SpoolLockedError('/spool', 42)).toMatchObject({ code: 'AUDIT_ERR_SPOOL_LOCKED', dir: '/spool', pid: 42 });
  });
});
