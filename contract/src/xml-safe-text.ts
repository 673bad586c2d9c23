/**
 * Characters that XML 1.0 forbids (its `Char` production): C0 controls other than tab,
 * LF and CR, lone UTF-16 surrogates, U+FFFE and U+FFFF. One of them in a cell makes an
 * XLSX unreadable (Excel and LibreOffice refuse the sheet), and a lone surrogate is not
 * even encodable as UTF-8. Each is replaced by U+FFFD, so lengths do not change.
 *
 * Deliberately not replaced, because XML 1.0 allows them and Excel, LibreOffice and
 * exceljs read them (tested): DEL and C1 controls (U+007F–U+009F), the noncharacters
 * U+FDD0–U+FDEF and U+nFFFE/U+nFFFF outside the BMP.
 */
/** One forbidden character (not global): for a writer that tests a cell once for all its rules. */
// eslint-disable-next-line no-control-regex -- matching these control characters is the point
export const XML_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const FORBIDDEN_ALL = new RegExp(XML_FORBIDDEN.source, 'g');

/** `text` with every XML-1.0-forbidden character replaced by U+FFFD. */
export function xmlSafeText(text: string): string {
  // Nearly every string is clean: one test, and the same string back, costs no copy.
  return XML_FORBIDDEN.test(text) ? text.replace(FORBIDDEN_ALL, '\ufffd') : text;
}

/**
 * `value` with {@link xmlSafeText} applied to every string in it, object keys included,
 * at any depth (plain objects and arrays; anything else is returned as it is). Returns
 * the same object when nothing needed replacing.
 */
export function xmlSafeDeep<T>(value: T): T {
  return cleanValue(value) as T;
}

function cleanValue(value: unknown): unknown {
  if (typeof value === 'string') return xmlSafeText(value);
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((item, i) => {
      const clean = cleanValue(item);
      if (clean !== item) (out ??= [...value])[i] = clean;
    });
    return out ?? value;
  }
  const proto: unknown = value !== null && typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
  if (proto === Object.prototype || proto === null) {
    let changed = false;
    const entries = Object.entries(value as Record<string, unknown>).map(([key, item]) => {
      const cleanKey = xmlSafeText(key);
      const clean = cleanValue(item);
      if (cleanKey !== key || clean !== item) changed = true;
      return [cleanKey, clean] as const;
    });
    return changed ? Object.fromEntries(entries) : value;
  }
  return value;
}
