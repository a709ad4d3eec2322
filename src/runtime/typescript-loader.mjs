/**
 * `node --import ./src/runtime/typescript-loader.mjs src/main.ts`: runs the server from
 * its TypeScript sources (see ./typescript-hooks.mjs), with stack traces in their lines.
 */
import { register } from 'node:module';

process.setSourceMapsEnabled(true);
register('./typescript-hooks.mjs', import.meta.url);
