/**
 * The frames a `node --cpu-prof` profile spent the most self time in, grouped by function and
 * file, with the share of garbage collection, idle and the program's own time.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof cli/dist/main.js export-service   # … then stop it
 *   npx tsx bench/cpu-profile-top.ts /tmp/prof/*.cpuprofile [top=25]
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface FrameTime {
  frame: string;
  ms: number;
  share: number;
}

/** Self time per function (name + file:line), largest first, and the total sampled. */
export function topFrames(profile: Profile): { totalMs: number; idleMs: number; frames: FrameTime[]; byPackage: FrameTime[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const pkg = new Map<string, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const node = byId.get(id);
    if (!node) return;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') idle += dt;
    const file = url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '').replace(/^.*\/(\w[\w-]*\/(src|dist)\/)/, '$1');
    const key = `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
    const owner = !url ? functionName : url.includes('/node_modules/') ? url.replace(/^.*\/node_modules\/((@[^/]+\/)?[^/]+).*$/, '$1') : url.startsWith('node:') ? 'node internals' : 'otel-audit';
    pkg.set(owner, (pkg.get(owner) ?? 0) + dt);
  });
  const sorted = (m: Map<string, number>) =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).map(([frame, ms]) => ({ frame, ms, share: ms / Math.max(1, total - idle) }));
  return { totalMs: total, idleMs: idle, frames: sorted(self), byPackage: sorted(pkg) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [path, topArg] = process.argv.slice(2);
  if (!path) {
    console.error('usage: npx tsx bench/cpu-profile-top.ts <file.cpuprofile> [top=25]');
    process.exit(2);
  }
  const top = Number(topArg ?? 25);
  const { totalMs, idleMs, frames, byPackage } = topFrames(JSON.parse(readFileSync(path, 'utf8')) as Profile);
  console.log(`sampled ${(totalMs / 1000).toFixed(1)} s, idle ${(idleMs / 1000).toFixed(1)} s; shares below are of the busy time\n`);
  console.log('| self ms | share | by package |\n| ---: | ---: | --- |');
  for (const f of byPackage.filter((f) => f.frame !== '(idle)').slice(0, 12)) console.log(`| ${f.ms.toFixed(0)} | ${(100 * f.share).toFixed(1)} % | ${f.frame} |`);
  console.log('\n| self ms | share | function |\n| ---: | ---: | --- |');
  for (const f of frames.filter((f) => f.frame !== '(idle)').slice(0, top)) console.log(`| ${f.ms.toFixed(0)} | ${(100 * f.share).toFixed(1)} % | \`${f.frame}\` |`);
}
