/**
 * The group-rule phases of `npm run bench` (issue 4): the latency a user PATCH gains when
 * the tenant has `--rules` rules (every write re-evaluates all of them for that user), and
 * the time to create a rule that matches half of the users (applied set-based in SQL).
 * Targets: < 5 ms added p50 per PATCH with 200 rules; < 10 s for the half-matching rule
 * over 100,000 users on PostgreSQL.
 */
import { performance } from 'node:perf_hooks';
import { type BenchClient, type PhaseResult, Recorder, runPhase, timed } from './load.ts';
import type { RSSSampler } from './rss.ts';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const CARE_GROUP = 'urn:ietf:params:scim:schemas:extension:carebridge:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** Added p50 per PATCH allowed with 200 rules, and the time for the half-matching rule. */
export const RULE_TARGETS = { addedP50Ms: 5, halfRuleSeconds: 10, halfRuleUsers: 100_000 };

export interface RuleBenchOptions {
  /** The bench tenant's client: no rules until the half-matching one at the end. */
  client: BenchClient;
  /** A client of a second tenant, which gets the `rules` rules. */
  rulesClient: BenchClient;
  rss: RSSSampler;
  /** Users the earlier phases created, with the index their bench attributes were built from. */
  created: { index: number; id: string }[];
  rules: number;
  seconds: number;
  log: (message: string) => void;
}

function ruleTenantUser(i: number): string {
  return JSON.stringify({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
    userName: `rules.user.${i}@example.org`,
    displayName: `Rules User ${i}`,
    name: { givenName: 'Rules', familyName: `User ${i}` },
    emails: [{ value: `rules.user.${i}@example.org`, type: 'work', primary: true }],
    [ENTERPRISE]: { employeeNumber: String(i), department: 'Care' },
  });
}

/** Rules of the shapes administrators write: equality, extension, complex filter, and/or. */
function ruleText(k: number): string {
  // Two rules match every bench user, so a PATCH also re-checks memberships it keeps.
  if (k % 100 === 0) return `${ENTERPRISE}:department eq "Care"`;
  switch (k % 4) {
    case 0:
      return `title eq "Rule title ${k}"`;
    case 1:
      return `${ENTERPRISE}:department eq "Dept ${k}" and active eq true`;
    case 2:
      return `emails[type eq "work" and value ew "@site${k}.example"]`;
    default:
      return `name.familyName sw "Rule ${k}" or nickName eq "rule-${k}"`;
  }
}

const groupBody = (displayName: string, rule: string) =>
  JSON.stringify({ schemas: [GROUP_SCHEMA, CARE_GROUP], displayName, [CARE_GROUP]: { rule } });

const patchTitle = (id: string | undefined, i: number) => ({
  method: 'PATCH' as const,
  path: `/scim/v2/Users/${id}`,
  body: JSON.stringify({
    schemas: [PATCH_OP],
    Operations: [{ op: 'replace', path: 'title', value: `Title ${i}` }],
  }),
});

/**
 * One client PATCHes `title` of random users, alternating between the tenant without
 * rules and the one with them, so both see the same machine load (others may share it).
 */
async function patchLatency(
  opts: RuleBenchOptions,
  ruleUsers: string[],
): Promise<[PhaseResult, PhaseResult]> {
  const requests = 3_000;
  const plain = new Recorder('PATCH user, 0 rules (1 client)', 1, requests, opts.rss);
  const ruled = new Recorder(`PATCH user, ${opts.rules} rules (1 client)`, 1, requests);
  const deadline = performance.now() + Math.min(opts.seconds, 10) * 2000;
  for (let i = 0; i < requests && performance.now() < deadline; i++) {
    const a = opts.created[(i * 7919) % opts.created.length]?.id;
    await timed(opts.client, plain, patchTitle(a, i));
    await timed(opts.rulesClient, ruled, patchTitle(ruleUsers[(i * 7919) % ruleUsers.length], i));
  }
  return [plain.finish(), ruled.finish()];
}

/** Runs the rule phases; they come last, as they leave 200 rules behind. */
export async function rulePhases(opts: RuleBenchOptions): Promise<PhaseResult[]> {
  const { client, log } = opts;
  const phases: PhaseResult[] = [];

  // The second tenant: users like the bench's, then the rules.
  const ruleUsers: string[] = [];
  const users = await runPhase({
    name: 'POST /Users (rules tenant)',
    client: opts.rulesClient,
    concurrency: 8,
    requests: Math.min(2_000, opts.created.length),
    request: (i) => ({ method: 'POST', path: '/scim/v2/Users', body: ruleTenantUser(i) }),
    onOk: (res) => {
      const id = (JSON.parse(res.body) as { id?: string }).id;
      if (id) ruleUsers.push(id);
    },
  });
  log(`rules tenant: ${ruleUsers.length} users (${users.errors} errors)`);

  const creating = new Recorder(`create ${opts.rules} rule groups (1 client)`, 1, opts.rules);
  for (let k = 0; k < opts.rules; k++) {
    await timed(
      opts.rulesClient,
      creating,
      { method: 'POST', path: '/scim/v2/Groups', body: groupBody(`rule group ${k}`, ruleText(k)) },
      (res) => (res.status === 201 ? undefined : `status ${res.status}`),
    );
  }
  const created = creating.finish();
  created.noRatio = true;
  phases.push(created);
  log(`${opts.rules} rule groups created, p50 ${created.p50.toFixed(1)} ms each`);

  const [without, withRules] = await patchLatency(opts, ruleUsers);
  phases.push(without);
  const added = withRules.p50 - without.p50;
  withRules.note = `added p50 ${added.toFixed(2)} ms vs 0 rules (target < ${RULE_TARGETS.addedP50Ms} ms with 200 rules): ${added < RULE_TARGETS.addedP50Ms ? 'PASS' : 'FAIL'}`;
  phases.push(withRules);
  log(`PATCH with ${opts.rules} rules: p50 ${withRules.p50.toFixed(2)} ms, ${withRules.note}`);

  // employeeNumber is the user's index: the even ones are half of the users.
  const half = new Recorder('create a rule matching half the users', 1, 1);
  const rule = ['0', '2', '4', '6', '8']
    .map((d) => `${ENTERPRISE}:employeeNumber ew "${d}"`)
    .join(' or ');
  const t0 = performance.now();
  const res = await timed(
    client,
    half,
    { method: 'POST', path: '/scim/v2/Groups', body: groupBody('half of everyone', rule) },
    (r) => (r.status === 201 ? undefined : `status ${r.status}`),
  );
  const seconds = (performance.now() - t0) / 1000;
  const groupId = res ? (JSON.parse(res.body) as { id?: string }).id : undefined;
  let members = 0;
  if (groupId) {
    const filter = encodeURIComponent(`groups.value eq "${groupId}"`);
    const count = await client.send({
      method: 'GET',
      path: `/scim/v2/Users?filter=${filter}&count=0`,
    });
    members = (JSON.parse(count.body) as { totalResults?: number }).totalResults ?? 0;
  }
  const expected = opts.created.filter((u) => u.index % 2 === 0).length;
  if (members !== expected) half.error(`the group holds ${members} members, expected ${expected}`);
  const halfResult = half.finish(
    `${members} of ${opts.created.length} users in ${seconds.toFixed(2)} s (target < ${RULE_TARGETS.halfRuleSeconds} s at ${RULE_TARGETS.halfRuleUsers.toLocaleString('en')} users on PostgreSQL)`,
  );
  halfResult.noRatio = true;
  phases.push(halfResult);
  log(`half-matching rule: ${halfResult.note}`);
  return phases;
}
