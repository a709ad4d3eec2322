import type { DirectoryContext } from './actor.ts';
import type { UserInput, UserRecord } from './user-record.ts';
import type { BatchCreateOutcome } from './users-batch.ts';

/** Creates of one tenant and actor sent together at most. */
const MAX_BATCH = 100;

interface Waiting {
  ctx: DirectoryContext;
  input: UserInput;
  resolve: (user: UserRecord) => void;
  reject: (err: unknown) => void;
}

interface Lane {
  queue: Waiting[];
  busy: boolean;
}

/**
 * Coalesces concurrent account creates of one tenant and actor: while one write of a
 * lane is on its way to the database, the creates that arrive wait, and then go together
 * as one set-based batch (users-batch.ts), each with its own request id in its audit
 * event and its own answer or error. A create that arrives alone goes alone, in one round
 * trip, so an idle server adds no wait. An IdP provisioning a whole organisation sends
 * many creates at once: each transaction then carries many accounts, and the rule lock,
 * the commit and the membership statement are paid once per batch, not per account.
 */
export class CreateCoalescer {
  private readonly lanes = new Map<string, Lane>();

  constructor(
    private readonly one: (ctx: DirectoryContext, input: UserInput) => Promise<UserRecord>,
    private readonly many: (
      ctx: DirectoryContext,
      inputs: UserInput[],
      requestIds: (string | null)[],
    ) => Promise<BatchCreateOutcome[]>,
  ) {}

  create(ctx: DirectoryContext, input: UserInput): Promise<UserRecord> {
    const key = `${ctx.tenantId}\u0000${ctx.actor.type}\u0000${ctx.actor.id ?? ''}`;
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { queue: [], busy: false };
      this.lanes.set(key, lane);
    }
    const promise = new Promise<UserRecord>((resolve, reject) => {
      lane.queue.push({ ctx, input, resolve, reject });
    });
    if (!lane.busy) void this.drain(key, lane);
    return promise;
  }

  private async drain(key: string, lane: Lane): Promise<void> {
    lane.busy = true;
    try {
      while (lane.queue.length > 0) {
        const batch = lane.queue.splice(0, MAX_BATCH);
        if (batch.length === 1) await this.sendOne(batch[0] as Waiting);
        else await this.sendMany(batch);
      }
    } finally {
      lane.busy = false;
      this.lanes.delete(key);
    }
  }

  private async sendOne(w: Waiting): Promise<void> {
    try {
      w.resolve(await this.one(w.ctx, w.input));
    } catch (err) {
      w.reject(err);
    }
  }

  private async sendMany(batch: Waiting[]): Promise<void> {
    let outcomes: BatchCreateOutcome[];
    try {
      outcomes = await this.many(
        (batch[0] as Waiting).ctx,
        batch.map((w) => w.input),
        batch.map((w) => w.ctx.requestId),
      );
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    for (const [i, w] of batch.entries()) {
      const outcome = outcomes[i];
      if (outcome?.ok && outcome.user) w.resolve(outcome.user);
      else if (outcome && !outcome.ok) w.reject(outcome.error);
      else w.reject(new Error('a coalesced create came back without its account'));
    }
  }
}
