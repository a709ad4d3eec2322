import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Services } from '../services.ts';
import { ConnectionInputSchema } from '../sso/connection-settings.ts';
import { redactConnection, SsoConnections } from '../sso/connections.ts';
import { spUrls } from '../sso/saml/saml-entities.ts';

export const SSO_USAGE = `  npm run cli -- sso add --tenant NAME --file CONNECTION.json
  npm run cli -- sso add --tenant NAME --slug SLUG --protocol oidc --issuer URL --client-id ID --client-secret SECRET --return-url URL [--return-url URL…] [--no-jit] [--link-verified-email]
  npm run cli -- sso add --tenant NAME --slug SLUG --protocol saml (--metadata-url URL | --metadata-file IDP.xml) --return-url URL […]
  npm run cli -- sso list --tenant NAME
  npm run cli -- sso remove --tenant NAME SLUG`;

/** A usage mistake: printed, exit code 2. */
export class SsoUsageError extends Error {}

/** `npm run cli -- sso …`: manage a tenant's SSO connections from the command line. */
export async function runSsoCommand(services: Services, argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      file: { type: 'string' },
      slug: { type: 'string' },
      protocol: { type: 'string' },
      issuer: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'metadata-url': { type: 'string' },
      'metadata-file': { type: 'string' },
      'return-url': { type: 'string', multiple: true },
      'no-jit': { type: 'boolean' },
      'link-verified-email': { type: 'boolean' },
      'idp-initiated': { type: 'boolean' },
    },
  });
  const [verb, arg] = positionals;
  if (!values.tenant) throw new SsoUsageError(`--tenant is required\n${SSO_USAGE}`);
  const tenant = await services.directory.tenants.findByName(values.tenant);
  if (!tenant) throw new SsoUsageError(`no tenant ${values.tenant}`);
  const connections = new SsoConnections(services.db.pool);
  const ctx = { tenantId: tenant.id, actor: { type: 'cli' as const, id: null }, requestId: null };
  const base = services.config.publicUrl;

  if (verb === 'list') {
    for (const c of await connections.list(tenant.id)) {
      console.log(
        `${c.slug}\t${c.protocol}\t${c.enabled ? 'enabled' : 'disabled'}\t${base}/sso/${c.slug}/login`,
      );
    }
  } else if (verb === 'remove' && arg) {
    await connections.remove(ctx, arg);
    console.log(`removed SSO connection ${arg}`);
  } else if (verb === 'add') {
    const raw = values.file ? JSON.parse(readFileSync(values.file, 'utf8')) : fromFlags(values);
    const parsed = ConnectionInputSchema.safeParse(raw);
    if (!parsed.success) {
      throw new SsoUsageError(
        parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'),
      );
    }
    const { connection, created } = await connections.put(ctx, parsed.data);
    console.log(`${created ? 'created' : 'updated'} SSO connection ${connection.slug}`);
    console.log(JSON.stringify(redactConnection(connection), null, 2));
    if (connection.protocol === 'oidc') {
      console.log(`redirect URI for the IdP: ${base}/sso/${connection.slug}/callback`);
    } else {
      const urls = spUrls(base, connection);
      console.log(`SP entity id and metadata: ${urls.metadata}\nACS (POST): ${urls.acs}`);
    }
  } else {
    throw new SsoUsageError(SSO_USAGE);
  }
}

function fromFlags(
  v: Record<string, string | boolean | string[] | undefined>,
): Record<string, unknown> {
  const common = {
    slug: v['slug'],
    protocol: v['protocol'],
    allowedReturnUrls: v['return-url'] ?? [],
    jit: v['no-jit'] !== true,
    linking: v['link-verified-email'] ? 'verified_email' : 'identity',
    idpInitiated: v['idp-initiated'] === true,
  };
  if (v['protocol'] === 'saml') {
    const file = v['metadata-file'];
    return {
      ...common,
      saml: {
        ...(typeof file === 'string' ? { idpMetadataXml: readFileSync(file, 'utf8') } : {}),
        ...(v['metadata-url'] ? { idpMetadataUrl: v['metadata-url'] } : {}),
      },
    };
  }
  return {
    ...common,
    oidc: { issuer: v['issuer'], clientId: v['client-id'], clientSecret: v['client-secret'] },
  };
}
