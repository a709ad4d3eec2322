import { describe, expect, it } from 'vitest';
import { DirectoryError } from '../../src/directory/directory-error.ts';
import { type Settled, WriteCoalescer } from '../../src/directory/write-coalescer.ts';

// The coalescer's own logic (who waits for whom, what goes together): the database side
// of a batch is tested through the SCIM door in test/scim/coalesced-creates.test.ts and
// test/scim/coalesced-updates.test.ts.
interface Write {
  lane: string;
  key: string;
  label: string;
}
const write = (label: string, lane = 'token-1', key = label): Write => ({ lane, key, label });

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { open, opened };
}

/** A coalescer whose single writes wait for `first` when they write `a`, and that logs what it sent. */
function recording(
  first: ReturnType<typeof gate>,
  opts: { apart?: boolean; failing?: () => boolean } = {},
) {
  const singles: string[] = [];
  const batches: string[][] = [];
  const coalescer = new WriteCoalescer<Write, string>({
    lane: (w) => w.lane,
    ...(opts.apart ? { apart: (w: Write) => w.key } : {}),
    one: async (w) => {
      singles.push(w.label);
      if (w.label === 'a') await first.opened;
      return `done ${w.label}`;
    },
    many: async (ws) => {
      batches.push(ws.map((w) => w.label));
      if (opts.failing?.()) throw new Error('connection lost');
      return ws.map(
        (w): Settled<string> =>
          w.label === 'taken'
            ? { ok: false, error: new DirectoryError('uniqueness', 'taken') }
            : { ok: true, value: `done ${w.label}` },
      );
    },
  });
  return { coalescer, singles, batches };
}

describe('WriteCoalescer', () => {
  it('Should send a write alone when nothing is in flight, and those arriving meanwhile together', async () => {
    const first = gate();
    const { coalescer, singles, batches } = recording(first);
    const a = coalescer.submit(write('a'));
    const rest = ['b', 'taken', 'c'].map((n) => coalescer.submit(write(n)));
    // Another lane's writes never join this lane's batch.
    expect(await coalescer.submit(write('x', 'token-2'))).toBe('done x');
    first.open();
    expect(await a).toBe('done a');
    const settled = await Promise.allSettled(rest);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(DirectoryError);
    expect(singles).toEqual(['a', 'x']);
    expect(batches).toEqual([['b', 'taken', 'c']]);
  });

  it('Should fail every write of a batch whose write failed, and serve the next ones', async () => {
    const first = gate();
    let failing = true;
    const { coalescer } = recording(first, { failing: () => failing });
    const a = coalescer.submit(write('a'));
    const both = [coalescer.submit(write('b')), coalescer.submit(write('c'))];
    first.open();
    await a;
    const settled = await Promise.allSettled(both);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    failing = false;
    expect(await coalescer.submit(write('d'))).toBe('done d');
  });

  it('Should never put two writes of one key in a batch, and keep their order', async () => {
    const first = gate();
    const { coalescer, singles, batches } = recording(first, { apart: true });
    const a = coalescer.submit(write('a'));
    // Three changes of one account (key k) between others: one per batch, in order.
    const waiting = [
      write('k1', 'token-1', 'k'),
      write('b'),
      write('k2', 'token-1', 'k'),
      write('c'),
      write('k3', 'token-1', 'k'),
    ].map((w) => coalescer.submit(w));
    first.open();
    await a;
    await Promise.all(waiting);
    expect(batches).toEqual([['k1', 'b', 'c']]);
    // k2 and k3 are left alone once the others are sent: each goes by itself, k2 first.
    expect(singles).toEqual(['a', 'k2', 'k3']);
  });
});
