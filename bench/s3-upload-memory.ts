/**
 * Memory of an export streamed into S3: uploads `mib` MiB (default 512) through S3FileStorage
 * to a real versitygw server on loopback (built by test/versitygw/build.sh), produced 64 KiB at
 * a time as an export writer produces it, and samples the process's RSS and heap every 20 ms,
 * then reads the object back and checks its SHA-256.
 *
 *   npm run build && npx tsx bench/s3-upload-memory.ts [mib=512]
 *
 * The claim it checks: an upload holds about (queueSize + 1) × partSize (15 MiB by default)
 * whatever the file's size, so peak memory does not grow with the export.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { S3FileStorage, S3_FILE_STORAGE_DEFAULTS } from '@otel-audit/exporter-service';
import { startVersitygw } from '../test/support/versitygw.js';

const mib = Number(process.argv[2] ?? 512);
const total = mib * 1024 * 1024;
const s3 = await startVersitygw();
try {
  await s3.createBucket('bench');
  const storage = new S3FileStorage({ bucket: 'bench', client: s3.client });
  const hash = createHash('sha256');
  let sent = 0;
  const body = new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const chunk = Buffer.alloc(Math.min(65_536, total - sent), sent % 251);
      sent += chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  global.gc?.();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakHeap = base.heapUsed;
  let peakBuffers = base.arrayBuffers;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
  }, 20);
  const started = performance.now();
  await storage.put('bench.csv', body);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const back = createHash('sha256');
  for await (const chunk of await storage.read('bench.csv')) back.update(chunk as Buffer);
  const same = back.digest('hex') === hash.digest('hex');
  const MiB = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  console.log(
    JSON.stringify(
      {
        uploadedMiB: mib,
        partSize: MiB(S3_FILE_STORAGE_DEFAULTS.partSize),
        queueSize: S3_FILE_STORAGE_DEFAULTS.queueSize,
        seconds: Number(seconds.toFixed(1)),
        mibPerSecond: Number((mib / seconds).toFixed(1)),
        rssBefore: MiB(base.rss),
        peakRss: MiB(peakRss),
        peakRssGrowth: MiB(peakRss - base.rss),
        peakHeapGrowth: MiB(peakHeap - base.heapUsed),
        peakArrayBuffersGrowth: MiB(peakBuffers - base.arrayBuffers),
        readBackIdentical: same,
      },
      null,
      2,
    ),
  );
} finally {
  await s3.stop();
}
