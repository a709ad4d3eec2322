import * as xmllint from '@authenio/samlify-node-xmllint';

type Listener = (...args: unknown[]) => void;

/**
 * samlify's XSD validator, made safe for a long-running server. The validator is libxml2
 * compiled to JS by an old emscripten: every call leaves behind a `drain` listener on stdout
 * that calls `process.exit` (so a busy log pipe would end the server), an
 * `uncaughtException` listener, a blank line on stdout, and on failure the parser's
 * message (which may quote the document) on stderr. The call itself is synchronous, so
 * each of these is undone right after it, before any other code runs.
 */
export function validate(xml: string): Promise<unknown> {
  const drain = new Set(process.stdout.listeners('drain'));
  const uncaught = new Set(process.listeners('uncaughtException'));
  const { log, error } = console;
  console.log = () => {};
  console.error = () => {};
  try {
    return xmllint.validate(xml);
  } finally {
    console.log = log;
    console.error = error;
    for (const l of process.stdout.listeners('drain')) {
      if (!drain.has(l)) process.stdout.removeListener('drain', l as Listener);
    }
    for (const l of process.listeners('uncaughtException')) {
      if (!uncaught.has(l)) process.removeListener('uncaughtException', l);
    }
  }
}
