import type { PhaseResult } from './load.ts';

/** The targets of issue 2, measured on PostgreSQL. */
export const TARGETS = {
  readRatio: 0.5,
  postRatio: 0.3,
  p99Ms: 50,
  p99Clients: 32,
  p99Users: 100_000,
  rssMB: 300,
} as const;

export interface RunInfo {
  database: 'postgres' | 'pglite';
  databaseVersion: string;
  users: number;
  concurrency: number;
  seconds: number;
  date: string;
  node: string;
  cpus: string;
}

export interface Baseline {
  select: PhaseResult | undefined;
  insert: PhaseResult | undefined;
}

/** Phase names the targets refer to. */
export const PHASE = {
  post: 'POST /Users',
  getById: 'GET /Users/:id',
  filterUserName: 'filter userName eq',
  filterExternalId: 'filter externalId eq',
} as const;

export interface TargetCheck {
  target: string;
  measured: string;
  pass: boolean;
}

const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(digits);

function ratio(phase: PhaseResult, base: PhaseResult | undefined): number | undefined {
  return base && base.opsPerSec > 0 ? phase.opsPerSec / base.opsPerSec : undefined;
}

/** A phase's ratio: to the bare SELECT of its own alternating windows when it has one. */
function selectRatio(phase: PhaseResult, bare: Baseline): number | undefined {
  return ratio(phase, phase.baseline ?? bare.select);
}

/** Evaluates every target; ratios need the bare SELECT (and INSERT) figures. */
export function checkTargets(
  phases: PhaseResult[],
  bare: Baseline,
  overallRSSMB: number | undefined,
): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const byName = new Map(phases.map((p) => [p.name, p]));
  const ratioCheck = (name: string, min: number) => {
    const phase = byName.get(name);
    const r = phase && selectRatio(phase, bare);
    checks.push({
      target: `${name} ≥ ${min} × bare SELECT`,
      measured:
        r === undefined
          ? 'n/a'
          : `${r.toFixed(2)} × (${fmt(phase?.opsPerSec)} ops/s${phase?.baseline ? `, bare ${fmt(phase.baseline.opsPerSec)} ops/s in the same windows` : ''})`,
      pass: r !== undefined && r >= min,
    });
  };
  ratioCheck(PHASE.getById, TARGETS.readRatio);
  ratioCheck(PHASE.filterUserName, TARGETS.readRatio);
  ratioCheck(PHASE.filterExternalId, TARGETS.readRatio);
  ratioCheck(PHASE.post, TARGETS.postRatio);
  // The target is defined at 32 clients: one-client phases (a single rule evaluation over
  // half the users, say) have targets of their own.
  const worst = phases
    .filter((p) => p.clients === TARGETS.p99Clients)
    .reduce<PhaseResult | undefined>(
      (w, p) => (!Number.isNaN(p.p99) && (!w || p.p99 > w.p99) ? p : w),
      undefined,
    );
  checks.push({
    target: `every phase p99 ≤ ${TARGETS.p99Ms} ms (defined at ${TARGETS.p99Clients} clients, ${TARGETS.p99Users.toLocaleString('en')} users)`,
    measured: worst ? `worst: ${worst.name} ${worst.p99.toFixed(1)} ms` : 'n/a',
    pass: worst !== undefined && worst.p99 <= TARGETS.p99Ms,
  });
  checks.push({
    target: `server RSS < ${TARGETS.rssMB} MB throughout`,
    measured: overallRSSMB === undefined ? 'n/a' : `max ${overallRSSMB.toFixed(0)} MB`,
    pass: overallRSSMB !== undefined && overallRSSMB < TARGETS.rssMB,
  });
  return checks;
}

function row(p: PhaseResult, vsSelect: string): string {
  const errors = p.errors === 0 ? '0' : `**${p.errors}**`;
  return `| ${p.name} | ${p.clients} | ${p.requests} | ${fmt(p.opsPerSec)} | ${fmt(p.p50, 2)} | ${fmt(p.p99, 2)} | ${errors} | ${fmt(p.maxRSSMB)} | ${vsSelect} |`;
}

/** The whole report as markdown: context, one table of phases, targets, notes, errors. */
export function renderReport(
  info: RunInfo,
  bare: Baseline,
  phases: PhaseResult[],
  checks: TargetCheck[],
): string {
  const lines: string[] = [];
  lines.push(
    `### carebridge bench: ${info.database}, ${info.users.toLocaleString('en')} users, ${info.concurrency} clients`,
    '',
    `${info.date} · ${info.databaseVersion} · Node ${info.node} · ${info.cpus} · read phases ${info.seconds} s each`,
    '',
    '| Phase | Clients | Requests | ops/s | p50 ms | p99 ms | Errors | Max RSS MB | × bare SELECT |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
  );
  if (bare.select) lines.push(row(bare.select, '1.00'));
  if (bare.insert) lines.push(row(bare.insert, fmt(ratio(bare.insert, bare.select), 2)));
  for (const p of phases) {
    let vs = p.noRatio ? '—' : fmt(selectRatio(p, bare), 2);
    if (p.baseline) vs += ' (same windows)';
    if (p.name === PHASE.post && bare.insert) vs += ` (${fmt(ratio(p, bare.insert), 2)} × INSERT)`;
    lines.push(row(p, vs));
  }
  lines.push(
    '',
    'Bare rows: a Hono handler on @hono/node-server doing one query through `pg` on the same database (RSS column there is the bare process), measured before carebridge\'s phases. The read phases marked "same windows" took turns with the bare SELECT in alternating windows instead, and their ratio is to the bare figure of those windows (in the notes).',
    '',
    info.database === 'postgres'
      ? '| Target (PostgreSQL) | Measured | Result |'
      : '| Target (set for PostgreSQL; shown for information) | Measured | Result |',
    '|---|---|---|',
  );
  for (const c of checks)
    lines.push(`| ${c.target} | ${c.measured} | ${c.pass ? 'PASS' : 'FAIL'} |`);
  const notes = phases.filter((p) => p.note).map((p) => `- ${p.name}: ${p.note}`);
  if (notes.length > 0) lines.push('', ...notes);
  const errors = [
    ...(bare.select ? [bare.select] : []),
    ...(bare.insert ? [bare.insert] : []),
    ...phases,
  ].filter((p) => p.errors > 0);
  if (errors.length > 0) {
    lines.push('', 'Errors (first sample per phase):');
    for (const p of errors)
      lines.push(`- ${p.name}: ${p.errors} errors, e.g. \`${p.errorSample?.replace(/`/g, "'")}\``);
  }
  return `${lines.join('\n')}\n`;
}
