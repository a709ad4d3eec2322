import { describe, expect, it } from 'vitest';
import type { DirectoryContext } from '../../src/directory/actor.ts';
import { CreateCoalescer } from '../../src/directory/create-coalescer.ts';
import { DirectoryError } from '../../src/directory/directory-error.ts';
import type { UserInput, UserRecord } from '../../src/directory/user-record.ts';

// The coalescer's own logic (who waits for whom, what goes together): the database side
// of a batch is tested through the SCIM door in test/scim/coalesced-creates.test.ts.
const ctx = (requestId: string, actorId = 'token-1'): DirectoryContext => ({
  tenantId: 't-1',
  actor: { type: 'token', id: actorId },
  requestId,
});
const input = (userName: string): UserInput => ({
  userName,
  externalId: null,
  status: 'active',
  attrs: {},
});
const record = (userName: string) => ({ id: `id-${userName}`, userName }) as UserRecord;

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { open, opened };
}

describe('CreateCoalescer', () => {
  it('Should send a create alone when nothing is in flight, and those arriving meanwhile together', async () => {
    const first = gate();
    const singles: string[] = [];
    const batches: { names: string[]; requestIds: (string | null)[] }[] = [];
    const coalescer = new CreateCoalescer(
      async (_ctx, i) => {
        singles.push(i.userName);
        if (i.userName === 'a') await first.opened;
        return record(i.userName);
      },
      async (_ctx, inputs, requestIds) => {
        batches.push({ names: inputs.map((i) => i.userName), requestIds });
        return inputs.map((i) =>
          i.userName === 'taken'
            ? { ok: false as const, error: new DirectoryError('uniqueness', 'taken') }
            : {
                ok: true as const,
                id: `id-${i.userName}`,
                userName: i.userName,
                user: record(i.userName),
              },
        );
      },
    );
    const a = coalescer.create(ctx('r-a'), input('a'));
    const rest = ['b', 'taken', 'c'].map((n) => coalescer.create(ctx(`r-${n}`), input(n)));
    // Another actor's creates never join this lane's batch.
    const other = coalescer.create(ctx('r-x', 'token-2'), input('x'));
    expect(await other).toMatchObject({ userName: 'x' });
    first.open();
    expect(await a).toMatchObject({ userName: 'a' });
    const settled = await Promise.allSettled(rest);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(DirectoryError);
    expect(singles).toEqual(['a', 'x']);
    expect(batches).toEqual([
      { names: ['b', 'taken', 'c'], requestIds: ['r-b', 'r-taken', 'r-c'] },
    ]);
  });

  it('Should fail every create of a batch whose write failed, and serve the next ones', async () => {
    const first = gate();
    let failing = true;
    const coalescer = new CreateCoalescer(
      async (_ctx, i) => {
        await first.opened;
        return record(i.userName);
      },
      async (_ctx, inputs) => {
        if (failing) throw new Error('connection lost');
        return inputs.map((i) => ({
          ok: true as const,
          id: i.userName,
          userName: i.userName,
          user: record(i.userName),
        }));
      },
    );
    const a = coalescer.create(ctx('r-a'), input('a'));
    const both = [
      coalescer.create(ctx('r-b'), input('b')),
      coalescer.create(ctx('r-c'), input('c')),
    ];
    first.open();
    await a;
    const settled = await Promise.allSettled(both);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    failing = false;
    expect(await coalescer.create(ctx('r-d'), input('d'))).toMatchObject({ userName: 'd' });
  });
});
