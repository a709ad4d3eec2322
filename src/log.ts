import { type DestinationStream, pino } from 'pino';
import type { Config } from './config.ts';

/** The process logger; authorisation headers and secrets are redacted wherever they appear. */
export function createLogger(level: Config['logLevel'], destination?: DestinationStream) {
  return pino(
    {
      level,
      redact: {
        paths: [
          'authorization',
          '*.authorization',
          'password',
          '*.password',
          'client_secret',
          '*.client_secret',
          'token',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
