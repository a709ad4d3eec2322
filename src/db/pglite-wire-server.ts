import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

/**
 * Serves one PGlite database over the PostgreSQL wire protocol on a Unix socket, to many
 * client connections at once.
 *
 * PGlite is a single backend session, so connections must take turns. `pglite-socket`
 * takes turns message by message, which lets one connection's Parse land between another
 * connection's Parse and Bind of the unnamed statement: under concurrent load a query
 * then runs another query's SQL. Here a turn is a whole protocol exchange, everything a
 * connection sent up to its Sync (or a simple Query), and while the session is inside a
 * transaction only the connection that opened it gets a turn, as on a real server.
 *
 * What cannot be made per-connection is session state: named prepared statements are
 * shared by all connections, so clients of this server must use unnamed statements
 * (see `database.ts`).
 */
export interface WireServer {
  stop(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSS_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
/** Message types that end a protocol exchange: Sync, simple Query, Flush. */
const EXCHANGE_ENDS = new Set(['S', 'Q', 'H']);

/** The owner while a dead connection's transaction is rolled back: no connection has this id. */
const ROLLING_BACK = 0;

interface Turn {
  connection: number;
  message: Uint8Array;
  reply: (data: Uint8Array) => void;
  done: () => void;
}

/** Takes turns on the one session: a FIFO, except that an open transaction keeps its owner. */
class SessionScheduler {
  private readonly waiting: Turn[] = [];
  private running = false;
  private owner: number | undefined;

  constructor(private readonly db: PGlite) {}

  run(turn: Omit<Turn, 'done'>): Promise<void> {
    return new Promise((done) => {
      this.waiting.push({ ...turn, done });
      void this.drain();
    });
  }

  /** A connection went away: drop its turns and end the transaction it left open. */
  async forget(connection: number): Promise<void> {
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      if (this.waiting[i]?.connection === connection) this.waiting.splice(i, 1)[0]?.done();
    }
    if (this.owner === connection) {
      // No turn may start while the rollback runs (`exec` takes PGlite's lock itself).
      this.owner = ROLLING_BACK;
      try {
        // A database closed under the connection (shutdown) has no transaction left to end.
        if (!this.db.closed && this.db.isInTransaction()) await this.db.exec('rollback');
      } finally {
        this.owner = undefined;
        void this.drain();
      }
    }
  }

  private next(): Turn | undefined {
    const index =
      this.owner === undefined ? 0 : this.waiting.findIndex((t) => t.connection === this.owner);
    return index < 0 ? undefined : this.waiting.splice(index, 1)[0];
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let turn = this.next(); turn; turn = this.next()) {
        const { connection, message, reply, done } = turn;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(message, { onRawData: reply }),
          );
        } finally {
          this.owner = this.db.isInTransaction() ? connection : undefined;
          done();
        }
      }
    } finally {
      this.running = false;
    }
  }
}

/** Splits a connection's byte stream into protocol exchanges. */
class ExchangeReader {
  private buffer = Buffer.alloc(0);
  private started = false;
  private pending: Buffer[] = [];

  constructor(
    private readonly onExchange: (message: Uint8Array) => Promise<void>,
    private readonly answer: (bytes: Buffer) => void,
    private readonly end: () => void,
  ) {}

  async push(chunk: Buffer): Promise<void> {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (!this.started) {
        if (this.buffer.length < 8) return;
        const length = this.buffer.readInt32BE(0);
        if (this.buffer.length < length) return;
        const code = this.buffer.readInt32BE(4);
        const message = this.buffer.subarray(0, length);
        this.buffer = this.buffer.subarray(length);
        if (code === SSL_REQUEST || code === GSS_REQUEST) this.answer(Buffer.from('N'));
        else if (code === CANCEL_REQUEST) this.end();
        else {
          this.started = true;
          await this.onExchange(new Uint8Array(message));
        }
        continue;
      }
      if (this.buffer.length < 5) return;
      const length = 1 + this.buffer.readInt32BE(1);
      if (this.buffer.length < length) return;
      const type = String.fromCharCode(this.buffer[0] as number);
      const message = this.buffer.subarray(0, length);
      this.buffer = this.buffer.subarray(length);
      if (type === 'X') {
        this.end();
        return;
      }
      this.pending.push(message);
      if (EXCHANGE_ENDS.has(type)) {
        const exchange = Buffer.concat(this.pending);
        this.pending = [];
        await this.onExchange(new Uint8Array(exchange));
      }
    }
  }
}

/** Starts serving `db` on the Unix socket at `path`. */
export async function serveWireProtocol(db: PGlite, path: string): Promise<WireServer> {
  await db.waitReady;
  const scheduler = new SessionScheduler(db);
  const sockets = new Set<Socket>();
  let nextConnection = 1;

  const server: Server = createServer((socket) => {
    const connection = nextConnection++;
    sockets.add(socket);
    socket.setNoDelay(true);
    // Copied: PGlite streams a result in chunks over its own memory, which the next chunk
    // reuses, and a chunk the socket has to queue would be sent as the later bytes.
    const write = (data: Uint8Array) => {
      if (socket.writable && data.length > 0) socket.write(Buffer.from(data));
    };
    const reader = new ExchangeReader(
      (message) => scheduler.run({ connection, message, reply: write }),
      (bytes) => write(bytes),
      () => socket.end(),
    );
    // Chunks are read strictly in order: each waits for the exchange before it.
    let reading: Promise<void> = Promise.resolve();
    socket.on('data', (chunk) => {
      reading = reading
        .then(() => reader.push(chunk))
        .catch(() => {
          socket.destroy();
        });
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      sockets.delete(socket);
      void reading.finally(() => scheduler.forget(connection));
    });
  });

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolveListen());
  });

  return {
    stop: () =>
      new Promise<void>((resolveStop) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolveStop());
      }),
  };
}
