/** Writes of one lane sent together at most. */
const MAX_BATCH = 100;

/** The outcome of one write of a batch, in the order the batch was given. */
export type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

/** How a kind of write is coalesced: its lanes, and how one and many are sent. */
export interface CoalescedWrite<T, R> {
  /** Writes of one lane may go together (one tenant and actor: one transaction, one audit actor). */
  lane(item: T): string;
  /**
   * Writes with the same key never go in one batch (two changes of one account): the later
   * one waits for the next batch, so the writes of one key keep the order they came in.
   */
  apart?(item: T): string;
  one(item: T): Promise<R>;
  many(items: T[]): Promise<Settled<R>[]>;
}

interface Waiting<T, R> {
  item: T;
  resolve: (value: R) => void;
  reject: (err: unknown) => void;
}

interface Lane<T, R> {
  queue: Waiting<T, R>[];
}

/**
 * Coalesces concurrent writes of one lane: while a write of the lane is on its way to the
 * database, the writes that arrive wait, and then go together as one set-based batch, each
 * with its own answer or error. A write that arrives alone goes alone, so an idle server
 * adds no wait. An IdP provisioning or deprovisioning a whole organisation sends many writes
 * at once: each transaction then carries many accounts, and the rule lock, the round trips
 * and the commit are paid once per batch, not per account.
 */
export class WriteCoalescer<T, R> {
  private readonly lanes = new Map<string, Lane<T, R>>();

  constructor(private readonly write: CoalescedWrite<T, R>) {}

  submit(item: T): Promise<R> {
    const key = this.write.lane(item);
    let lane = this.lanes.get(key);
    const idle = !lane;
    if (!lane) {
      lane = { queue: [] };
      this.lanes.set(key, lane);
    }
    const promise = new Promise<R>((resolve, reject) => {
      lane.queue.push({ item, resolve, reject });
    });
    if (idle) void this.drain(key, lane);
    return promise;
  }

  private async drain(key: string, lane: Lane<T, R>): Promise<void> {
    try {
      while (lane.queue.length > 0) {
        const batch = this.take(lane);
        if (batch.length === 1) await this.sendOne(batch[0] as Waiting<T, R>);
        else await this.sendMany(batch);
      }
    } finally {
      this.lanes.delete(key);
    }
  }

  /** The next batch: up to MAX_BATCH waiting writes in order, none two of one `apart` key. */
  private take(lane: Lane<T, R>): Waiting<T, R>[] {
    const apart = this.write.apart;
    if (!apart) return lane.queue.splice(0, MAX_BATCH);
    const batch: Waiting<T, R>[] = [];
    const rest: Waiting<T, R>[] = [];
    const keys = new Set<string>();
    for (const w of lane.queue) {
      const k = apart(w.item);
      if (batch.length >= MAX_BATCH || keys.has(k)) {
        rest.push(w);
        // A later write of this key must not overtake the one left waiting.
        keys.add(k);
      } else {
        keys.add(k);
        batch.push(w);
      }
    }
    lane.queue = rest;
    return batch;
  }

  private async sendOne(w: Waiting<T, R>): Promise<void> {
    try {
      w.resolve(await this.write.one(w.item));
    } catch (err) {
      w.reject(err);
    }
  }

  private async sendMany(batch: Waiting<T, R>[]): Promise<void> {
    let outcomes: Settled<R>[];
    try {
      outcomes = await this.write.many(batch.map((w) => w.item));
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    for (const [i, w] of batch.entries()) {
      const outcome = outcomes[i];
      if (outcome?.ok) w.resolve(outcome.value);
      else if (outcome) w.reject(outcome.error);
      else w.reject(new Error('a coalesced write came back without its outcome'));
    }
  }
}
