import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import type { GroupRecord } from '../directory/group-record.ts';
import { CARE_GROUP_SCHEMA } from './group-extension.ts';
import type { Projection } from './projection.ts';
import { groupToSCIM, type SCIMResource } from './representation.ts';

/** A group's members as JSON text, built by PostgreSQL. */
interface MembersText {
  count: number;
  /** Some member is one through a rule or the system (the care extension then shows). */
  automatic: boolean;
  /** The elements of the SCIM `members` array, comma-separated, ordered by user id. */
  members: string;
  /** The elements of the extension's `memberSources`, in the same order. */
  sources: string;
}

// Sources are aggregated before the join: one row per member, never a sort of `attrs`.
const MEMBERS_TEXT = `
  with s as (
    select user_id, array_agg(source order by source) as sources
    from group_members where tenant_id = $1 and group_id = $2
    group by user_id
  )
  select count(*)::int as count,
         coalesce(bool_or(not (s.sources <@ array['manual'])), false) as automatic,
         coalesce(string_agg(json_build_object('value', s.user_id,
                    'display', coalesce(u.attrs->>'displayName', u.user_name),
                    'type', 'User', '$ref', $3 || s.user_id)::text, ',' order by s.user_id), '') as members,
         coalesce(string_agg(json_build_object('value', s.user_id, 'sources', s.sources)::text, ','
                    order by s.user_id), '') as sources
  from s join users u on u.id = s.user_id`;

// Marks no stored value can hold: PostgreSQL text and jsonb refuse the NUL character.
const MEMBERS_MARK = '\u0000members\u0000';
const SOURCES_MARK = '\u0000memberSources\u0000';

/**
 * The JSON of a group with its members, for a response that shows them. PostgreSQL writes
 * each member's JSON (`json_build_object`, in the order `groupToSCIM` uses), and the text is
 * spliced into the group's: a group of 100,000 members is answered without 100,000
 * JavaScript objects and their copies, which cost seconds and over 100 MB per request.
 * The projection is applied to the group with one stand-in member; when it keeps that
 * member whole (the default, or `attributes=members`), the text is the answer. A
 * projection that picks sub-attributes of members (`members.value`) returns undefined, and
 * the caller renders the members as objects.
 */
export async function groupJSONWithMembers(
  pool: pg.Pool,
  group: GroupRecord,
  baseUrl: string,
  projection: Projection,
): Promise<string | undefined> {
  const { rows } = await pool.query<MembersText>(MEMBERS_TEXT, [
    group.tenantId,
    group.id,
    `${baseUrl}/Users/`,
  ]);
  const text = rows[0] as MembersText;
  if (text.count === 0) return JSON.stringify(projection.apply(groupToSCIM(group, baseUrl, [])));
  const standIn = groupToSCIM(group, baseUrl, [
    { value: group.id, display: '', sources: [text.automatic ? 'rule' : 'manual'] },
  ]);
  const projected = projection.apply(standIn);
  if (!keptWhole(projected, standIn, 'members')) return undefined;
  const ext = projected[CARE_GROUP_SCHEMA] as SCIMResource | undefined;
  const fullExt = standIn[CARE_GROUP_SCHEMA] as SCIMResource | undefined;
  if (ext && fullExt && !keptWhole(ext, fullExt, 'memberSources')) return undefined;
  if (projected['members'] !== undefined) projected['members'] = MEMBERS_MARK;
  if (ext?.['memberSources'] !== undefined) ext['memberSources'] = SOURCES_MARK;
  return JSON.stringify(projected)
    .replace(JSON.stringify(MEMBERS_MARK), () => `[${text.members}]`)
    .replace(JSON.stringify(SOURCES_MARK), () => `[${text.sources}]`);
}

/** The projection left `key` out, or kept it exactly as it was. */
function keptWhole(projected: SCIMResource, full: SCIMResource, key: string): boolean {
  return projected[key] === undefined || isDeepStrictEqual(projected[key], full[key]);
}
