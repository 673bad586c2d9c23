import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** The web viewer: built into exporter-service/dist/web, which the export service serves at `/`. */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The preload polyfill is for browsers older than the target; one script, no inline code.
    modulePreload: { polyfill: false },
    sourcemap: true,
  },
});
