import { IMPORT_MODES, MATCH_FIELDS } from '../csv/csv-columns.ts';
import type { ImportResult } from '../csv/csv-import.ts';
import { ConsoleLayout, Csrf } from './console-layout.tsx';

const MODE_LABELS = {
  create: 'Create new users',
  update: 'Update existing users',
  deactivate: 'Deactivate users',
  reactivate: 'Reactivate users',
} as const;

/** The CSV import form (seed 002) and, after a run, its result. */
export function ImportPage(props: {
  signedIn: string;
  csrf: string;
  maxMB: number;
  result?: ImportResult | undefined;
  error?: string | undefined;
}) {
  const r = props.result;
  return (
    <ConsoleLayout title="CSV import" section="import" userName={props.signedIn} csrf={props.csrf}>
      <h1>CSV import</h1>
      {props.error ? (
        <p class="error" role="alert">
          {props.error}
        </p>
      ) : null}
      {r ? (
        <section aria-labelledby="result-heading" id="result">
          <h2 id="result-heading">Result</h2>
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
          <p>
            {r.rows} rows in {r.seconds} s{r.invited > 0 ? `, ${r.invited} invitations queued` : ''}
            .{r.stopped ? ` ${r.stopped}.` : ''}
          </p>
          {r.failures.length > 0 ? (
            <div class="table-wrap">
              <table id="failures">
                <caption>
                  Rows that failed{r.failuresTruncated ? ' (the first 10,000)' : ''}
                </caption>
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
          <label for="file">CSV file</label>
          <input id="file" name="file" type="file" accept=".csv,text/csv" required />
        </p>
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
        <button type="submit">Import</button>
        <p role="status" id="progress" aria-live="polite" />
      </form>
      <script
        dangerouslySetInnerHTML={{
          __html: `document.getElementById('import-form').addEventListener('submit',function(){document.getElementById('progress').textContent='Importing… the result shows here when the whole file is done.';});`,
        }}
      />
    </ConsoleLayout>
  );
}
