import type { Logger } from 'pino';

/** One invitation to a new account, as the importer hands it over after the account exists. */
export interface Invitation {
  tenantId: string;
  userId: string;
  userName: string;
  email: string;
  language: string | null;
}

/**
 * Where invitations go: an outbox that a mail sender drains. carebridge sends no mail
 * itself yet; a deployment plugs its sender in here.
 */
export interface InvitationOutbox {
  enqueue(invitation: Invitation): Promise<void>;
}

/**
 * A stub outbox that only logs each invitation (no address, which is personal data, and
 * no secret: the link is for the sender to mint). Named as a stub: nothing is delivered.
 */
export class LoggedInvitationStub implements InvitationOutbox {
  constructor(private readonly log: Pick<Logger, 'info'>) {}

  async enqueue(invitation: Invitation): Promise<void> {
    this.log.info(
      { tenantId: invitation.tenantId, userId: invitation.userId, stub: true },
      'invitation queued (stub outbox: not delivered)',
    );
  }
}
