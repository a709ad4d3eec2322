import type pg from 'pg';
import { appendAudit } from '../audit/audit-log.ts';
import { uniqueViolation, withTransaction } from '../db/sql.ts';
import type { DirectoryContext } from '../directory/actor.ts';
import { DirectoryError } from '../directory/directory-error.ts';
import { newId } from '../directory/uuid.ts';
import type {
  AttributeMapping,
  ConnectionInput,
  OidcSettings,
  SamlSettings,
} from './connection-settings.ts';

/** An SSO connection of one tenant, as stored. */
export interface SsoConnection {
  id: string;
  tenantId: string;
  slug: string;
  protocol: 'oidc' | 'saml';
  displayName: string;
  jit: boolean;
  linking: 'identity' | 'verified_email';
  idpInitiated: boolean;
  defaultGroups: string[];
  allowedReturnUrls: string[];
  enabled: boolean;
  attributeMapping: AttributeMapping;
  updateAttributes: 'always' | 'never';
  oidc: OidcSettings | undefined;
  saml: SamlSettings | undefined;
  updatedAt: Date;
}

interface ConnectionRow {
  id: string;
  tenant_id: string;
  slug: string;
  protocol: 'oidc' | 'saml';
  display_name: string;
  jit: boolean;
  linking: 'identity' | 'verified_email';
  idp_initiated: boolean;
  default_groups: string[];
  allowed_return_urls: string[];
  enabled: boolean;
  settings: {
    attributeMapping?: AttributeMapping;
    updateAttributes?: 'always' | 'never';
    oidc?: OidcSettings;
    saml?: SamlSettings;
  };
  updated_at: Date;
}

function fromRow(row: ConnectionRow): SsoConnection {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    slug: row.slug,
    protocol: row.protocol,
    displayName: row.display_name,
    jit: row.jit,
    linking: row.linking,
    idpInitiated: row.idp_initiated,
    defaultGroups: row.default_groups,
    allowedReturnUrls: row.allowed_return_urls,
    enabled: row.enabled,
    attributeMapping: row.settings.attributeMapping ?? {},
    updateAttributes: row.settings.updateAttributes ?? 'always',
    oidc: row.settings.oidc,
    saml: row.settings.saml,
    updatedAt: row.updated_at,
  };
}

const SECRET_FIELDS = ['clientSecret', 'privateKeyJwk', 'spSigningKey', 'spEncryptionKey'];

/** A connection as the admin API and the CLI show it: secrets replaced by `"(set)"`. */
export function redactConnection(c: SsoConnection): Record<string, unknown> {
  const redact = (settings: object | undefined) =>
    settings &&
    Object.fromEntries(
      Object.entries(settings).map(([k, v]) => [k, SECRET_FIELDS.includes(k) ? '(set)' : v]),
    );
  const { oidc, saml, updatedAt, ...rest } = c;
  return {
    ...rest,
    ...(oidc ? { oidc: redact(oidc) } : {}),
    ...(saml ? { saml: redact(saml) } : {}),
    updatedAt: updatedAt.toISOString(),
  };
}

/** SSO connections: per tenant, addressed by a slug unique across tenants. */
export class SsoConnections {
  constructor(private readonly pool: pg.Pool) {}

  /** The connection a `/sso/:connection` URL names, whatever its tenant. */
  async bySlug(slug: string): Promise<SsoConnection | undefined> {
    const { rows } = await this.pool.query<ConnectionRow>(
      'select * from sso_connections where lower(slug) = lower($1)',
      [slug],
    );
    return rows[0] && fromRow(rows[0]);
  }

  async byId(id: string): Promise<SsoConnection | undefined> {
    const { rows } = await this.pool.query<ConnectionRow>(
      'select * from sso_connections where id = $1',
      [id],
    );
    return rows[0] && fromRow(rows[0]);
  }

  async list(tenantId: string): Promise<SsoConnection[]> {
    const { rows } = await this.pool.query<ConnectionRow>(
      'select * from sso_connections where tenant_id = $1 order by slug',
      [tenantId],
    );
    return rows.map(fromRow);
  }

  async get(tenantId: string, slug: string): Promise<SsoConnection> {
    const { rows } = await this.pool.query<ConnectionRow>(
      'select * from sso_connections where tenant_id = $1 and lower(slug) = lower($2)',
      [tenantId, slug],
    );
    if (!rows[0]) throw new DirectoryError('notFound', `no SSO connection ${slug}`);
    return fromRow(rows[0]);
  }

  /** Creates the connection, or replaces the tenant's connection of that slug. */
  async put(
    ctx: DirectoryContext,
    input: ConnectionInput,
  ): Promise<{ connection: SsoConnection; created: boolean }> {
    const settings = {
      attributeMapping: input.attributeMapping,
      updateAttributes: input.updateAttributes,
      ...(input.protocol === 'oidc' ? { oidc: input.oidc } : { saml: input.saml }),
    };
    return withTransaction(this.pool, async (tx) => {
      let rows: (ConnectionRow & { created: boolean })[];
      try {
        ({ rows } = await tx.query<ConnectionRow & { created: boolean }>(
          `insert into sso_connections
             (id, tenant_id, slug, protocol, display_name, settings, jit, linking, idp_initiated,
              default_groups, allowed_return_urls, enabled)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           on conflict ((lower(slug))) do update set
             protocol = excluded.protocol, display_name = excluded.display_name,
             settings = excluded.settings, jit = excluded.jit, linking = excluded.linking,
             idp_initiated = excluded.idp_initiated, default_groups = excluded.default_groups,
             allowed_return_urls = excluded.allowed_return_urls, enabled = excluded.enabled,
             updated_at = now()
           where sso_connections.tenant_id = excluded.tenant_id
           returning *, (xmax = 0) as created`,
          [
            newId(),
            ctx.tenantId,
            input.slug,
            input.protocol,
            input.displayName ?? input.slug,
            settings,
            input.jit,
            input.linking,
            input.idpInitiated,
            input.defaultGroups,
            input.allowedReturnUrls,
            input.enabled,
          ],
        ));
      } catch (err) {
        if (uniqueViolation(err)) throw slugTaken(input.slug);
        throw err;
      }
      const row = rows[0];
      // The slug belongs to another tenant: say so without naming that tenant.
      if (!row) throw slugTaken(input.slug);
      const connection = fromRow(row);
      await appendAudit(tx, ctx, {
        subjectType: 'sso_connection',
        subjectId: connection.id,
        type: row.created ? 'sso_connection.created' : 'sso_connection.updated',
        after: redactConnection(connection),
      });
      return { connection, created: row.created };
    });
  }

  /** Removes a connection of the tenant with its linked identities and flows in flight. */
  async remove(ctx: DirectoryContext, slug: string): Promise<void> {
    await withTransaction(this.pool, async (tx) => {
      const { rows } = await tx.query<{ id: string }>(
        'delete from sso_connections where tenant_id = $1 and lower(slug) = lower($2) returning id',
        [ctx.tenantId, slug],
      );
      const id = rows[0]?.id;
      if (!id) throw new DirectoryError('notFound', `no SSO connection ${slug}`);
      await appendAudit(tx, ctx, {
        subjectType: 'sso_connection',
        subjectId: id,
        type: 'sso_connection.deleted',
        before: { slug },
      });
    });
  }
}

function slugTaken(slug: string): DirectoryError {
  return new DirectoryError('uniqueness', `the connection slug ${slug} is already in use`);
}
