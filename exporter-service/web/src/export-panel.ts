import { ApiError, type Api, type ExportStatus } from './api.js';
import { h } from './dom.js';
import { formatInstant, zoneName, type DisplayZone } from './time-zone.js';

/**
 * Results up to this many rows download at once; more go to a background export, so a
 * large download never holds the page (or the browser's memory) while it is compiled.
 */
export const DIRECT_DOWNLOAD_ROWS = 10_000;
const POLL_MS = 1000;

export interface ExportRequest {
  format: 'csv' | 'xlsx';
  params: Record<string, string>;
  /** Matching rows, as last counted. */
  count: number;
  zone: DisplayZone;
}

/** Runs exports and reports them in an aria-live region; the rest of the page keeps working meanwhile. */
export class ExportPanel {
  #running = 0;

  constructor(
    private readonly api: Api,
    private readonly region: HTMLElement,
    private readonly limits: { rowCap: number; backgroundExports: boolean },
  ) {}

  async start(req: ExportRequest): Promise<void> {
    const direct = req.count <= Math.min(DIRECT_DOWNLOAD_ROWS, this.limits.rowCap) || !this.limits.backgroundExports;
    const card = h('div', { class: 'export-card' });
    this.region.prepend(card);
    this.#running += 1;
    try {
      if (direct) await this.#direct(req, card);
      else await this.#background(req, card);
    } catch (err) {
      card.className = 'export-card failed';
      card.replaceChildren(h('p', {}, `The ${req.format.toUpperCase()} export failed: ${err instanceof ApiError ? err.message : String(err)}`));
    } finally {
      this.#running -= 1;
    }
  }

  async #direct(req: ExportRequest, card: HTMLElement): Promise<void> {
    card.replaceChildren(h('p', {}, `Preparing the ${req.format.toUpperCase()} file (${req.count.toLocaleString()} rows)…`));
    const { blob, name } = await this.api.download(req.format, req.params);
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: name }, `Save ${name} again`);
    card.className = 'export-card done';
    card.replaceChildren(h('p', {}, `Downloaded ${name} (${req.count.toLocaleString()} rows). `, a));
    a.click();
  }

  async #background(req: ExportRequest, card: HTMLElement): Promise<void> {
    const label = `${req.format.toUpperCase()} export of ${req.count.toLocaleString()} rows`;
    const progress = h('progress', { max: '100' });
    const text = h('span', {}, 'queued');
    card.replaceChildren(h('p', {}, `${label}: compiling in the background. You can keep using the page. `, text), progress);
    const { statusUrl } = await this.api.startExport(req.format, req.params);
    for (;;) {
      const s = await this.api.exportStatus(statusUrl);
      if (s.status === 'done') return this.#ready(card, label, s, req.zone);
      if (s.status === 'failed' || s.status === 'expired') throw new ApiError(0, s.status, s.error ?? `the export ${s.status}`);
      if (s.percent === null) {
        progress.removeAttribute('value');
        text.textContent = s.status === 'queued' ? 'Waiting for a free worker…' : 'Counting rows…';
      } else {
        progress.value = s.percent;
        text.textContent = `${s.percent}% (${s.rowsWritten.toLocaleString()} of ${(s.total ?? 0).toLocaleString()} rows)`;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  #ready(card: HTMLElement, label: string, s: ExportStatus, zone: DisplayZone): void {
    const hours = s.linkTtlHours === 1 ? '1 hour' : `${s.linkTtlHours} hours`;
    const expires = s.expiresAt ? `${formatInstant(s.expiresAt, zone)} (${zoneName(zone)})` : '';
    card.className = 'export-card done';
    card.replaceChildren(
      ...[
      h('p', { class: 'ready' }, h('strong', {}, `Your ${label} is ready.`), ` Click on the link and download the file. This link is available for ${hours}.`),
      h('p', {}, h('a', { href: s.downloadUrl ?? '#', class: 'download-link', download: true }, `Download the ${s.format.toUpperCase()} file (${s.rowsWritten.toLocaleString()} rows)`)),
      expires ? h('p', { class: 'help' }, `The link expires at ${expires}.`) : null,
      ].filter((n) => n !== null),
    );
  }

  get busy(): boolean {
    return this.#running > 0;
  }
}
