import { describe, expect, it } from 'vitest';
import { validate } from '../../src/sso/saml/schema-validator.ts';

const VALID =
  '<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_1" Version="2.0" IssueInstant="2026-01-01T00:00:00Z"><saml:Issuer>https://idp.test</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>';

describe('the SAML schema validator', () => {
  it('Should accept a message valid against the SAML 2.0 schemas', async () => {
    await expect(validate(VALID)).resolves.toBeDefined();
  });

  it('Should refuse a message that breaks the schema (Status before Issuer)', async () => {
    const broken = VALID.replace(
      '<saml:Issuer>https://idp.test</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>',
      '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Issuer>https://idp.test</saml:Issuer>',
    );
    await expect(validate(broken)).rejects.toBeDefined();
  });

  // Regression: node-xmllint left a stdout 'drain' listener calling process.exit (and an
  // uncaughtException listener) behind on every call, so a busy log pipe ended the server.
  it('Should leave no process.exit listener behind, however many messages it validates', async () => {
    const drain = process.stdout.listenerCount('drain');
    const uncaught = process.listenerCount('uncaughtException');
    for (let i = 0; i < 12; i++) await validate(VALID).catch(() => {});
    expect(process.stdout.listenerCount('drain')).toBe(drain);
    expect(process.listenerCount('uncaughtException')).toBe(uncaught);
  });
});
