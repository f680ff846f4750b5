// Builds the web client into dist/web: content-hashed names under assets/ (served as immutable), index.html at
// the top (revalidated), and a brotli and a gzip copy of every text file beside it, so the server never
// compresses per request. `npm run build:web` runs it after type-checking src/web.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));
const COMPRESSIBLE = /\.(html|js|css|svg|json|txt|webmanifest)$/;

/** Precompresses what the bundle wrote (brotli at its best quality: it runs once per build, not per request). */
function precompress(): Plugin {
  return {
    name: 'parley-precompress',
    apply: 'build',
    writeBundle(options, bundle) {
      for (const fileName of Object.keys(bundle)) {
        if (!COMPRESSIBLE.test(fileName)) continue;
        const file = path.join(options.dir!, fileName);
        const body = readFileSync(file);
        writeFileSync(`${file}.br`, brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
        writeFileSync(`${file}.gz`, gzipSync(body, { level: 9 }));
      }
    },
  };
}

export default defineConfig({
  root: here,
  base: '/',
  // Nothing is copied unhashed: every asset is imported, so it gets a content hash.
  publicDir: false,
  build: {
    outDir: path.resolve(here, '../../dist/web'),
    emptyOutDir: true,
    target: 'es2022',
    // Small enough to inline nothing: a data: URL would need a wider CSP than 'self'.
    assetsInlineLimit: 0,
    sourcemap: true,
  },
  plugins: [precompress()],
});
