import type { MikroORM } from '@mikro-orm/postgresql';
import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  type JWTVerifyOptions,
  jwtVerify,
  SignJWT,
} from 'jose';
import { type SigningKey, SigningKeySchema } from '../db/entities.ts';
import { newId } from '../directory/uuid.ts';

const ALG = 'ES256';

interface LoadedKey {
  kid: string;
  publicJwk: JWK;
  publicKey: CryptoKey;
  privateKey: CryptoKey;
  retired: boolean;
  createdAt: Date;
}

/**
 * carebridge's own signing keys, kept in the database so every instance signs and
 * verifies with the same set. The newest key signs; retired keys still verify, so a
 * rotation never breaks tokens already issued.
 */
export class SigningKeys {
  private keys = new Map<string, LoadedKey>();
  private current: LoadedKey | undefined;

  constructor(
    private readonly orm: MikroORM,
    private readonly issuer: string,
  ) {}

  /** Loads the keys, creating the first one on a new database. */
  async init(): Promise<void> {
    await this.reload();
    if (!this.current) await this.rotate();
  }

  /** Creates a new signing key; the previous ones keep verifying. */
  async rotate(): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair(ALG, { extractable: true });
    const kid = newId();
    const em = this.orm.em.fork();
    em.create(SigningKeySchema, {
      kid,
      alg: ALG,
      publicJwk: { ...(await exportJWK(publicKey)), kid, alg: ALG, use: 'sig' },
      privateJwk: { ...(await exportJWK(privateKey)), kid, alg: ALG },
    });
    await em.flush();
    await this.reload();
    return kid;
  }

  private async reload(): Promise<void> {
    const rows: SigningKey[] = await this.orm.em
      .fork()
      .find(SigningKeySchema, {}, { orderBy: { createdAt: 'asc', kid: 'asc' } });
    const keys = new Map<string, LoadedKey>();
    for (const row of rows) {
      keys.set(row.kid, {
        kid: row.kid,
        publicJwk: row.publicJwk as JWK,
        publicKey: (await importJWK(row.publicJwk as JWK, row.alg)) as CryptoKey,
        privateKey: (await importJWK(row.privateJwk as JWK, row.alg)) as CryptoKey,
        retired: row.retiredAt !== null && row.retiredAt !== undefined,
        createdAt: row.createdAt,
      });
    }
    this.keys = keys;
    this.current = [...keys.values()].filter((k) => !k.retired).at(-1);
  }

  /** Signs a JWT with the current key. */
  async sign(
    claims: JWTPayload,
    opts: { audience: string; expiresIn?: string | number },
  ): Promise<string> {
    const key = this.current;
    if (!key) throw new Error('no signing key: call init() first');
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: ALG, kid: key.kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setAudience(opts.audience)
      .setIssuedAt();
    if (opts.expiresIn !== undefined) jwt.setExpirationTime(opts.expiresIn);
    return jwt.sign(key.privateKey);
  }

  /** Verifies a JWT signed by any of our keys; a kid we do not know yet is looked up once. */
  async verify(token: string, opts: JWTVerifyOptions & { audience: string }): Promise<JWTPayload> {
    const { payload } = await jwtVerify(
      token,
      async (header) => {
        const kid = header.kid ?? '';
        if (!this.keys.has(kid)) await this.reload();
        const key = this.keys.get(kid);
        if (!key) throw new Error('unknown key');
        return key.publicKey;
      },
      { algorithms: [ALG], ...opts },
    );
    return payload;
  }

  /** The public keys as a JWKS (RFC 7517 §5). */
  jwks(): { keys: JWK[] } {
    return { keys: [...this.keys.values()].map((k) => k.publicJwk) };
  }
}
