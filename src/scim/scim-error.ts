/** The `scimType` values of RFC 7644 §3.12 (and RFC 9865's invalidCursor). */
export type SCIMType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive'
  | 'invalidCursor';

/** An error the SCIM door reports in the SCIM error schema. @see RFC 7644 §3.12 */
export class SCIMError extends Error {
  constructor(
    readonly status: number,
    readonly scimType: SCIMType | undefined,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'SCIMError';
  }
}

export const invalidFilter = (detail: string) => new SCIMError(400, 'invalidFilter', detail);
export const invalidSyntax = (detail: string) => new SCIMError(400, 'invalidSyntax', detail);
export const invalidPath = (detail: string) => new SCIMError(400, 'invalidPath', detail);
export const invalidValue = (detail: string) => new SCIMError(400, 'invalidValue', detail);
export const noTarget = (detail: string) => new SCIMError(400, 'noTarget', detail);
export const mutability = (detail: string) => new SCIMError(400, 'mutability', detail);
export const tooMany = (detail: string) => new SCIMError(400, 'tooMany', detail);
export const uniqueness = (detail: string) => new SCIMError(409, 'uniqueness', detail);
export const notFound = (detail: string) => new SCIMError(404, undefined, detail);

/** The body of a SCIM error response. */
export function scimErrorBody(status: number, detail: string, scimType?: SCIMType) {
  return {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
    status: String(status),
    ...(scimType ? { scimType } : {}),
    detail,
  };
}
