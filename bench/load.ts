import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { RSSSampler } from './rss.ts';

/** One HTTP request of a phase; the body is already serialised. */
export interface BenchRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  body?: string;
}

export interface BenchResponse {
  status: number;
  body: string;
}

/** What one phase measured. Latencies in milliseconds, RSS in MB. */
export interface PhaseResult {
  name: string;
  clients: number;
  requests: number;
  errors: number;
  errorSample: string | undefined;
  seconds: number;
  opsPerSec: number;
  p50: number;
  p99: number;
  maxRSSMB: number | undefined;
  note?: string;
  /** Set when ops/s is not comparable with one-row requests (a page of 1,000 users). */
  noRatio?: true;
  /**
   * The bare SELECT measured in windows alternating with this phase's (alternatingWindows);
   * its ratio is to this figure rather than to the bare SELECT measured before the run.
   */
  baseline?: PhaseResult;
}

/**
 * A keep-alive HTTP/1.1 client for 127.0.0.1 only: `http.request` on an Agent with one
 * socket per concurrent worker, so the generator costs little CPU next to the server.
 */
export class BenchClient {
  private readonly agent: http.Agent;

  constructor(
    private readonly port: number,
    private readonly headers: Record<string, string>,
    connections: number,
  ) {
    this.agent = new http.Agent({
      keepAlive: true,
      maxSockets: connections,
      maxFreeSockets: connections,
    });
  }

  send(req: BenchRequest): Promise<BenchResponse> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { ...this.headers };
      if (req.body !== undefined) headers['content-length'] = Buffer.byteLength(req.body);
      const r = http.request(
        {
          host: '127.0.0.1',
          port: this.port,
          method: req.method,
          path: req.path,
          agent: this.agent,
          headers,
        },
        (res) => {
          res.setEncoding('utf8');
          let body = '';
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', reject);
        },
      );
      r.on('error', reject);
      r.end(req.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** Collects latencies in a preallocated Float64Array, and errors with one sample. */
export class Recorder {
  private lat: Float64Array;
  private n = 0;
  private errors = 0;
  private sample: string | undefined;
  private readonly started = performance.now();

  constructor(
    private readonly name: string,
    private readonly clients: number,
    capacity: number,
    private readonly rss?: RSSSampler,
  ) {
    this.lat = new Float64Array(Math.max(16, capacity));
    rss?.resetPeak();
  }

  get count(): number {
    return this.n;
  }

  latency(ms: number): void {
    if (this.n === this.lat.length) {
      const grown = new Float64Array(this.lat.length * 2);
      grown.set(this.lat);
      this.lat = grown;
    }
    this.lat[this.n++] = ms;
  }

  /** Counts an error; the first one is kept (shortened) as the sample to print. */
  error(message: string): void {
    this.errors++;
    if (this.sample === undefined) this.sample = message.replace(/\s+/g, ' ').slice(0, 400);
  }

  finish(note?: string): PhaseResult {
    const seconds = (performance.now() - this.started) / 1000;
    const sorted = this.lat.slice(0, this.n).sort();
    return {
      name: this.name,
      clients: this.clients,
      requests: this.n,
      errors: this.errors,
      errorSample: this.sample,
      seconds,
      opsPerSec: this.n / seconds,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      maxRSSMB: this.rss?.peakMB(),
      ...(note ? { note } : {}),
    };
  }
}

/** Sends one request, times it and records the outcome; returns the response if it was a good 2xx. */
export async function timed(
  client: BenchClient,
  rec: Recorder,
  req: BenchRequest,
  check?: (res: BenchResponse) => string | undefined,
): Promise<BenchResponse | undefined> {
  const t0 = performance.now();
  let res: BenchResponse;
  try {
    res = await client.send(req);
  } catch (err) {
    rec.latency(performance.now() - t0);
    rec.error(`${req.method} ${req.path}: ${(err as Error).message}`);
    return undefined;
  }
  rec.latency(performance.now() - t0);
  if (res.status < 200 || res.status > 299) {
    rec.error(`${req.method} ${req.path} -> ${res.status}: ${res.body}`);
    return undefined;
  }
  const problem = check?.(res);
  if (problem) {
    rec.error(`${req.method} ${req.path} -> ${res.status} but ${problem}: ${res.body}`);
    return undefined;
  }
  return res;
}

export interface PhaseOptions {
  name: string;
  client: BenchClient;
  concurrency: number;
  /** Upper bound on requests; request(i) is called with i = 0 … requests-1. */
  requests: number;
  /** Optional time bound: workers stop taking new requests after this many seconds. */
  seconds?: number;
  rss?: RSSSampler;
  request: (i: number) => BenchRequest;
  /** Returns a problem with a 2xx response (counted as an error), or undefined. */
  check?: (res: BenchResponse, i: number) => string | undefined;
  /** Called with every 2xx response that passed the check. */
  onOk?: (res: BenchResponse, i: number) => void;
}

/**
 * `concurrency` (at least one) workers that each run `step` and wait for it, again and
 * again while `more()` holds: a closed-loop load, where each client waits for its answer.
 */
export async function closedLoop(
  concurrency: number,
  more: () => boolean,
  step: () => Promise<void>,
): Promise<void> {
  await Promise.all(
    Array.from({ length: Math.max(1, concurrency) }, async () => {
      while (more()) await step();
    }),
  );
}

/**
 * A bounded closed-loop load: `concurrency` workers each send a request, wait for the
 * answer and send the next, until `requests` were taken or `seconds` passed.
 */
export async function runPhase(opts: PhaseOptions): Promise<PhaseResult> {
  const capacity = opts.seconds ? Math.min(opts.requests, 200_000) : opts.requests;
  const rec = new Recorder(opts.name, opts.concurrency, capacity, opts.rss);
  const deadline = opts.seconds
    ? performance.now() + opts.seconds * 1000
    : Number.POSITIVE_INFINITY;
  let next = 0;
  // Long count-bounded phases (100,000 POSTs) say where they are every 15 s.
  const progress = setInterval(() => {
    process.stderr.write(`[bench] ${opts.name}: ${rec.count} of ${opts.requests}\n`);
  }, 15_000);
  if (opts.seconds) clearInterval(progress);
  try {
    await closedLoop(
      opts.concurrency,
      () => next < opts.requests && performance.now() < deadline,
      async () => {
        const i = next++;
        const res = await timed(
          opts.client,
          rec,
          opts.request(i),
          opts.check && ((r) => opts.check?.(r, i)),
        );
        if (res && opts.onOk) opts.onOk(res, i);
      },
    );
  } finally {
    clearInterval(progress);
  }
  return rec.finish();
}

/** One kind of request that takes turns with others in alternatingWindows. */
export interface WindowKind {
  name: string;
  client: BenchClient;
  request: (i: number) => BenchRequest;
  check?: (res: BenchResponse, i: number) => string | undefined;
  rss?: RSSSampler;
}

/**
 * Kinds take turns in `windows` rounds of `seconds / windows` each, in A B B A order, so
 * each sees the same machine load: on a shared machine the speed of two phases one after
 * the other can differ by half. Each kind's ops/s is over its own windows only.
 */
export async function alternatingWindows(
  kinds: WindowKind[],
  opts: { concurrency: number; seconds: number; windows: number },
): Promise<PhaseResult[]> {
  const cap = 200_000;
  const state = kinds.map((kind) => ({
    kind,
    rec: new Recorder(kind.name, opts.concurrency, cap, kind.rss),
    active: 0,
    next: 0,
  }));
  const windowMs = (opts.seconds * 1000) / opts.windows;
  for (let w = 0; w < opts.windows; w++) {
    for (const s of w % 2 === 0 ? state : [...state].reverse()) {
      const started = performance.now();
      const deadline = started + windowMs;
      await closedLoop(
        opts.concurrency,
        () => performance.now() < deadline && s.next < cap,
        async () => {
          const i = s.next++;
          await timed(
            s.kind.client,
            s.rec,
            s.kind.request(i),
            s.kind.check && ((r) => s.kind.check?.(r, i)),
          );
        },
      );
      s.active += (performance.now() - started) / 1000;
    }
  }
  return state.map((s) => {
    const r = s.rec.finish();
    return { ...r, seconds: s.active, opsPerSec: r.requests / s.active };
  });
}
