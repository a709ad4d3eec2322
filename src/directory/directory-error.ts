/** Why the directory refused a change; each door maps these to its own wire format. */
export type DirectoryErrorCode =
  | 'notFound'
  | 'uniqueness'
  | 'invalidValue'
  | 'invalidFilter'
  | 'mutability'
  | 'preconditionFailed'
  | 'forbidden'
  | 'conflict';

/** A refusal of the directory service, with a message that says which rule refused. */
export class DirectoryError extends Error {
  constructor(
    readonly code: DirectoryErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DirectoryError';
  }
}
