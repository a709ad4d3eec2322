/** Why an import refused a whole file (nothing written) or one row (the others go on). */
export type ImportErrorCode = 'badHeader' | 'badRequest' | 'tooLarge' | 'badRow';

/** A refusal of the CSV importer, with a stable code the doors map to their wire. */
export class ImportError extends Error {
  override readonly name = 'ImportError';
  constructor(
    readonly code: ImportErrorCode,
    message: string,
  ) {
    super(message);
  }
}
