import { z } from 'zod';

/** A tenant's password rules (seed 001: the organisation sets them). */
export const PasswordRulesSchema = z.object({
  minLength: z.number().int().min(8).max(128).default(12),
  requireUpper: z.boolean().default(true),
  requireLower: z.boolean().default(true),
  requireDigit: z.boolean().default(true),
  requireSymbol: z.boolean().default(false),
});
export type PasswordRules = z.infer<typeof PasswordRulesSchema>;

/**
 * Local sign-in of a tenant, from `settings.localSignIn`: off unless the tenant lists the
 * return URLs it may send people to. Lockout after `maxFailedAttempts` failures in a row,
 * for `lockoutMinutes`.
 */
export const LocalSignInSchema = z.object({
  allowedReturnUrls: z.array(z.url()).min(1),
  maxFailedAttempts: z.number().int().min(1).max(100).default(5),
  lockoutMinutes: z
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(15),
  passwordRules: PasswordRulesSchema.default(PasswordRulesSchema.parse({})),
});
export type LocalSignInSettings = z.infer<typeof LocalSignInSchema>;

/** The tenant's local sign-in settings, or undefined when local sign-in is off. */
export function localSignInSettings(
  settings: Record<string, unknown>,
): LocalSignInSettings | undefined {
  const parsed = LocalSignInSchema.safeParse(settings['localSignIn']);
  return parsed.success ? parsed.data : undefined;
}

/** Which rules a new password breaks; empty when it follows them all. */
export function passwordProblems(password: string, rules: PasswordRules): string[] {
  const problems: string[] = [];
  if ([...password].length < rules.minLength)
    problems.push(`at least ${rules.minLength} characters`);
  if (rules.requireUpper && !/\p{Lu}/u.test(password)) problems.push('an upper-case letter');
  if (rules.requireLower && !/\p{Ll}/u.test(password)) problems.push('a lower-case letter');
  if (rules.requireDigit && !/\p{Nd}/u.test(password)) problems.push('a digit');
  if (rules.requireSymbol && !/[^\p{L}\p{Nd}\s]/u.test(password)) problems.push('a symbol');
  return problems;
}
