import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import type { GroupRecord } from '../directory/group-record.ts';
import { CARE_GROUP_SCHEMA } from './group-extension.ts';
import type { Projection } from './projection.ts';
import { groupToSCIM, type SCIMResource } from './representation.ts';

/** Members written per query while a large group streams out. */
export const MEMBERS_PER_CHUNK = 5_000;

// The group's membership at a glance: how many members, and whether the care extension
// shows (some member is one through a rule or the system).
const SUMMARY = `
  select count(distinct user_id)::int as count,
         coalesce(bool_or(source <> 'manual'), false) as automatic
  from group_members where tenant_id = $1 and group_id = $2`;

// One chunk of members after `$3` in user id order (the primary key's order), each as
// the JSON groupToSCIM would write for it: a `members` element or a `memberSources` one.
// Sources are aggregated before the join: one row per member, never a sort of `attrs`.
const chunkSQL = (part: 'members' | 'sources') => `
  with s as (
    select user_id, array_agg(source order by source) as sources
    from group_members where tenant_id = $1 and group_id = $2 and user_id > $3
    group by user_id order by user_id limit $4
  )
  select (array_agg(s.user_id order by s.user_id desc))[1] as last,
         coalesce(string_agg(${
           part === 'members'
             ? `json_build_object('value', s.user_id,
                  'display', coalesce(u.attrs->>'displayName', u.user_name),
                  'type', 'User', '$ref', $5 || s.user_id)::text`
             : `json_build_object('value', s.user_id, 'sources', s.sources)::text`
         }, ',' order by s.user_id), '') as text
  from s ${part === 'members' ? 'join users u on u.id = s.user_id' : ''}`;

const FIRST_ID = '00000000-0000-0000-0000-000000000000';

// Marks no stored value can hold: PostgreSQL text and jsonb refuse the NUL character.
const MARKS = {
  members: JSON.stringify('\u0000members\u0000'),
  sources: JSON.stringify('\u0000memberSources\u0000'),
} as const;

type Part = keyof typeof MARKS;

/**
 * The body of a group response that shows its members, without one JavaScript object per
 * member: PostgreSQL writes each member's JSON (`json_build_object`, in the order
 * `groupToSCIM` uses) and the text goes out around the group's own JSON. A group of up to
 * {@link MEMBERS_PER_CHUNK} members is one string; a larger one streams, a chunk of
 * members per query, all from one snapshot (a read-only repeatable-read transaction), so
 * a group of 100,000 members never sits in memory whole.
 *
 * The projection is applied to the group with one stand-in member; when it keeps that
 * member whole (the default, or `attributes=members`), the text is the answer. A
 * projection that picks sub-attributes of members (`members.value`) gives undefined, and
 * the caller renders the members as objects.
 */
export async function groupBodyWithMembers(
  pool: pg.Pool,
  group: GroupRecord,
  baseUrl: string,
  projection: Projection,
  perChunk = MEMBERS_PER_CHUNK,
): Promise<string | ReadableStream<Uint8Array> | undefined> {
  const client = await pool.connect();
  let handedOver = false;
  try {
    await client.query('begin transaction isolation level repeatable read read only');
    // A reader that stops reading ends the transaction instead of holding it open.
    await client.query(`set local idle_in_transaction_session_timeout = '60s'`);
    const { rows } = await client.query<{ count: number; automatic: boolean }>(SUMMARY, [
      group.tenantId,
      group.id,
    ]);
    const summary = rows[0] ?? { count: 0, automatic: false };
    if (summary.count === 0) {
      return JSON.stringify(projection.apply(groupToSCIM(group, baseUrl, [])));
    }
    const template = templateFor(group, baseUrl, projection, summary.automatic);
    if (!template) return undefined;
    const userBase = `${baseUrl}/Users/`;
    const chunk = async (part: Part, after: string) => {
      // LIMIT NULL is no limit: a group that goes whole is one query per part.
      const values = [group.tenantId, group.id, after, Number.isFinite(perChunk) ? perChunk : null];
      const { rows: out } = await client.query<{ last: string | null; text: string }>(
        chunkSQL(part),
        part === 'members' ? [...values, userBase] : values,
      );
      return out[0] ?? { last: null, text: '' };
    };
    if (summary.count <= perChunk) {
      const texts: Record<Part, string> = { members: '', sources: '' };
      for (const part of template.parts) texts[part] = (await chunk(part, FIRST_ID)).text;
      return template.segments
        .map((s, i) => s + (template.parts[i] ? `[${texts[template.parts[i] as Part]}]` : ''))
        .join('');
    }
    handedOver = true;
    return streamBody(client, template, chunk);
  } finally {
    if (!handedOver) {
      await client.query('rollback').catch(() => {});
      client.release();
    }
  }
}

/** The group's JSON cut at the places its members go, or undefined (see above). */
function templateFor(
  group: GroupRecord,
  baseUrl: string,
  projection: Projection,
  automatic: boolean,
): { segments: string[]; parts: Part[] } | undefined {
  const standIn = groupToSCIM(group, baseUrl, [
    { value: group.id, display: '', sources: [automatic ? 'rule' : 'manual'] },
  ]);
  const projected = projection.apply(standIn);
  if (!keptWhole(projected, standIn, 'members')) return undefined;
  const ext = projected[CARE_GROUP_SCHEMA] as SCIMResource | undefined;
  const fullExt = standIn[CARE_GROUP_SCHEMA] as SCIMResource | undefined;
  if (ext && fullExt && !keptWhole(ext, fullExt, 'memberSources')) return undefined;
  if (projected['members'] !== undefined) projected['members'] = JSON.parse(MARKS.members);
  if (ext?.['memberSources'] !== undefined) ext['memberSources'] = JSON.parse(MARKS.sources);
  const json = JSON.stringify(projected);
  const found = (Object.keys(MARKS) as Part[])
    .map((part) => ({ part, at: json.indexOf(MARKS[part]) }))
    .filter((m) => m.at >= 0)
    .sort((a, b) => a.at - b.at);
  const segments: string[] = [];
  let from = 0;
  for (const m of found) {
    segments.push(json.slice(from, m.at));
    from = m.at + MARKS[m.part].length;
  }
  segments.push(json.slice(from));
  return { segments, parts: found.map((m) => m.part) };
}

/** Streams the template with each part's members, chunk by chunk, then ends the snapshot. */
function streamBody(
  client: pg.PoolClient,
  template: { segments: string[]; parts: Part[] },
  chunk: (part: Part, after: string) => Promise<{ last: string | null; text: string }>,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let released = false;
  const release = async (ok: boolean) => {
    if (released) return;
    released = true;
    await client.query(ok ? 'commit' : 'rollback').catch(() => {});
    client.release();
  };
  // The steps of the body: a segment, then each chunk of the part after it, and so on.
  let segment = 0;
  let part: { name: Part; after: string; first: boolean } | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (part) {
          const next = await chunk(part.name, part.after);
          if (next.last === null) {
            controller.enqueue(encoder.encode(part.first ? '[]' : ']'));
            part = undefined;
          } else {
            controller.enqueue(encoder.encode((part.first ? '[' : ',') + next.text));
            part.after = next.last;
            part.first = false;
          }
          return;
        }
        controller.enqueue(encoder.encode(template.segments[segment] ?? ''));
        const name = template.parts[segment];
        segment++;
        if (name) part = { name, after: FIRST_ID, first: true };
        else {
          await release(true);
          controller.close();
        }
      } catch (err) {
        await release(false);
        controller.error(err);
      }
    },
    async cancel() {
      await release(false);
    },
  });
}

/** The projection left `key` out, or kept it exactly as it was. */
function keptWhole(projected: SCIMResource, full: SCIMResource, key: string): boolean {
  return projected[key] === undefined || isDeepStrictEqual(projected[key], full[key]);
}
