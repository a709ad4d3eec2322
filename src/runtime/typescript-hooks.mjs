/**
 * Module hooks that compile carebridge's TypeScript sources with esbuild as they load
 * (registered by ./typescript-loader.mjs, what `npm start` runs the server with).
 *
 * Why not `tsx`: it compiles with esbuild's `keepNames`, which wraps every function and
 * class in a `__name()` call that redefines its `name` property when it is created. A file
 * compiled on its own keeps its names without that, and the calls ran for every closure
 * made per request: measured A/B on one database, carebridge spent 16% less CPU per
 * `GET /Users/:id` and per `filter userName eq` without them (README, Benchmark).
 * The CLI, the bench driver and the tests keep their own loaders (tsx, vitest).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

const TSCONFIG = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../tsconfig.json', import.meta.url)), 'utf8'),
);

const LOADERS = { '.ts': 'ts', '.tsx': 'tsx', '.mts': 'ts' };

function loaderOf(url) {
  if (!url.startsWith('file:')) return undefined;
  const path = url.split('?')[0] ?? url;
  for (const [ext, loader] of Object.entries(LOADERS)) if (path.endsWith(ext)) return loader;
  return undefined;
}

export async function load(url, context, nextLoad) {
  const loader = loaderOf(url);
  if (!loader || url.includes('/node_modules/')) return nextLoad(url, context);
  const filename = fileURLToPath(url);
  const { code } = await transform(readFileSync(filename, 'utf8'), {
    loader,
    format: 'esm',
    target: `node${process.versions.node}`,
    sourcefile: filename,
    sourcemap: 'inline',
    // jsx, jsxImportSource and verbatimModuleSyntax, as tsc checks them.
    tsconfigRaw: { compilerOptions: TSCONFIG.compilerOptions },
  });
  return { format: 'module', source: code, shortCircuit: true };
}
