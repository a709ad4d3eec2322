import { IMPORT_MODES, MATCH_FIELDS } from '../csv/csv-columns.ts';
import type { ImportRun } from '../csv/import-runs.ts';
import { ConsoleLayout, Csrf } from './console-layout.tsx';

const MODE_LABELS = {
  create: 'Create new users',
  update: 'Update existing users',
  deactivate: 'Deactivate users',
  reactivate: 'Reactivate users',
} as const;

/** The CSV import form (seed 002) and the latest runs, each linking to its progress view. */
export function ImportPage(props: {
  signedIn: string;
  csrf: string;
  maxMB: number;
  runs: ImportRun[];
  error?: string | undefined;
}) {
  return (
    <ConsoleLayout title="CSV import" section="import" userName={props.signedIn} csrf={props.csrf}>
      <h1>CSV import</h1>
      {props.error ? (
        <p class="error" role="alert">
          {props.error}
        </p>
      ) : null}
      <h2>Import a file</h2>
      <p>
        A create file starts with the columns email, username and language, in that order; more
        columns by attribute name (<code>name.givenName</code>, <code>title</code>) or full
        extension path. Update, deactivate and reactivate files start with a <code>match</code>{' '}
        column holding the value of the field chosen below; in an update, a blank cell removes the
        value. Files up to {props.maxMB} MB.
      </p>
      <p>
        Templates:{' '}
        {IMPORT_MODES.map((m) => (
          <>
            <a href={`/admin/import/templates/${m}`} download>
              {m}
            </a>{' '}
          </>
        ))}
      </p>
      <form method="post" action="/admin/import" enctype="multipart/form-data" id="import-form">
        <Csrf token={props.csrf} />
        <p>
          <label for="mode">What to do</label>
          <select id="mode" name="mode">
            {IMPORT_MODES.map((m) => (
              <option value={m}>{MODE_LABELS[m]}</option>
            ))}
          </select>
        </p>
        <p>
          <label for="matchOn">Match users by (update, deactivate, reactivate)</label>
          <select id="matchOn" name="matchOn">
            {MATCH_FIELDS.map((m) => (
              <option value={m}>{m}</option>
            ))}
          </select>
        </p>
        <p>
          <input id="invite" name="invite" type="checkbox" value="on" />{' '}
          <label for="invite" style="display:inline">
            Send invitations to created users
          </label>
        </p>
        {/* Last: the server reads the fields before it, then streams the file. */}
        <p>
          <label for="file">CSV file</label>
          <input id="file" name="file" type="file" accept=".csv,text/csv" required />
        </p>
        <button type="submit">Import</button>
      </form>
      {props.runs.length > 0 ? <RecentRuns runs={props.runs} /> : null}
    </ConsoleLayout>
  );
}

const STATUS_LABELS = {
  running: 'Running',
  done: 'Done',
  failed: 'Refused',
  interrupted: 'Interrupted (the server stopped during the run)',
} as const;

function RecentRuns(props: { runs: ImportRun[] }) {
  return (
    <div class="table-wrap">
      <table id="runs">
        <caption>Latest imports</caption>
        <thead>
          <tr>
            <th scope="col">Started</th>
            <th scope="col">File</th>
            <th scope="col">Mode</th>
            <th scope="col">Status</th>
            <th scope="col">Rows</th>
            <th scope="col">Failed</th>
          </tr>
        </thead>
        <tbody>
          {props.runs.map((r) => (
            <tr>
              <td>
                <a href={`/admin/import/runs/${r.id}`}>
                  {r.startedAt.slice(0, 19).replace('T', ' ')}
                </a>
              </td>
              <td>{r.fileName ?? '(sent through the API)'}</td>
              <td>{r.mode}</td>
              <td>{STATUS_LABELS[r.status]}</td>
              <td>{r.rows}</td>
              <td>{r.failed}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * One import run: a progress bar (bytes read of the file) and the counts while it runs,
 * refreshed by a small script from `/progress` (a Refresh link without scripts); the result
 * with each failed row once it is done.
 */
export function ImportRunPage(props: { signedIn: string; csrf: string; run: ImportRun }) {
  const r = props.run;
  const running = r.status === 'running';
  const total = r.fileBytes ?? 0;
  const percent = total ? `${Math.round((100 * r.bytes) / total)}%` : '';
  return (
    <ConsoleLayout
      title="CSV import run"
      section="import"
      userName={props.signedIn}
      csrf={props.csrf}
    >
      <h1>
        {MODE_LABELS[r.mode]}
        {r.fileName ? `: ${r.fileName}` : ''}
      </h1>
      <p role="status" aria-live="polite" id="run-status" data-status={r.status}>
        {running
          ? `Importing… ${r.rows} rows so far.`
          : `${STATUS_LABELS[r.status]}${r.status === 'done' ? `: ${r.rows} rows in ${seconds(r)} s` : ''}.`}
      </p>
      {r.error ? (
        <p class="error" role="alert" id="run-error">
          {r.error}
        </p>
      ) : null}
      {running ? (
        <p>
          <label for="run-progress">Share of the file read</label>
          <progress id="run-progress" max={total || 1} value={Math.min(r.bytes, total || 1)}>
            {percent}
          </progress>{' '}
          <span id="run-percent">{percent}</span> <a href={`/admin/import/runs/${r.id}`}>Refresh</a>
        </p>
      ) : null}
      <section aria-labelledby="result-heading" id={running ? 'counts' : 'result'}>
        <h2 id="result-heading">{running ? 'So far' : 'Result'}</h2>
        <ul class="counts">
          <li>
            Created <strong id="count-created">{r.created}</strong>
          </li>
          <li>
            Updated <strong id="count-updated">{r.updated}</strong>
          </li>
          <li>
            Unchanged <strong id="count-unchanged">{r.unchanged}</strong>
          </li>
          <li>
            Failed <strong id="count-failed">{r.failed}</strong>
          </li>
        </ul>
        {r.status === 'done' ? (
          <p>
            {r.invited > 0 ? `${r.invited} invitations queued. ` : ''}
            {r.stopped ? `${r.stopped}.` : ''}
          </p>
        ) : null}
        {r.failures.length > 0 ? (
          <div class="table-wrap">
            <table id="failures">
              <caption>Rows that failed{r.failuresTruncated ? ' (the first 10,000)' : ''}</caption>
              <thead>
                <tr>
                  <th scope="col">Line</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {r.failures.map((f) => (
                  <tr>
                    <td>{f.line}</td>
                    <td>{f.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </section>
      <p>
        <a href="/admin/import">Import another file</a>
      </p>
      {running ? (
        <script
          dangerouslySetInnerHTML={{
            __html: `(function(){var url=${JSON.stringify(`/admin/import/runs/${r.id}/progress`)};function tick(){fetch(url,{headers:{accept:'application/json'}}).then(function(res){return res.json();}).then(function(p){if(p.status!=='running'){location.reload();return;}var bar=document.getElementById('run-progress');if(p.fileBytes){bar.max=p.fileBytes;bar.value=Math.min(p.bytes,p.fileBytes);var pct=Math.round(100*p.bytes/p.fileBytes)+'%';bar.textContent=pct;document.getElementById('run-percent').textContent=pct;}['created','updated','unchanged','failed'].forEach(function(k){document.getElementById('count-'+k).textContent=p[k];});document.getElementById('run-status').textContent='Importing… '+p.rows+' rows so far.';setTimeout(tick,1000);}).catch(function(){setTimeout(tick,3000);});}setTimeout(tick,1000);})();`,
          }}
        />
      ) : null}
    </ConsoleLayout>
  );
}

function seconds(r: ImportRun): number {
  if (!r.finishedAt) return 0;
  return Math.round((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 100) / 10;
}
