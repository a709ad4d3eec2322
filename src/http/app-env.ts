import type { Logger } from 'pino';
import type { TokenPrincipal } from '../keys/api-tokens.ts';

/** What middleware puts on each request (per-request state lives here, never in modules). */
export interface AppEnv {
  Variables: {
    requestId: string;
    log: Logger;
    principal: TokenPrincipal;
  };
}
