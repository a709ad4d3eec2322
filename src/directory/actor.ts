/** Who asks for a change: written into every audit event. */
export interface Actor {
  type: 'token' | 'user' | 'system' | 'cli' | 'sso';
  id: string | null;
}

/** The context of every directory call: which tenant, who, and the request it serves. */
export interface DirectoryContext {
  tenantId: string;
  actor: Actor;
  requestId: string | null;
}

export const SYSTEM_ACTOR: Actor = { type: 'system', id: null };
