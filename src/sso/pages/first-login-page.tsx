import { Layout } from './layout.tsx';

export interface FirstLoginPageProps {
  state: string;
  locales: string[];
  timeZones: string[];
  /** The supported locale already known (claim or Accept-Language), if any. */
  locale: string | undefined;
  /** The supported zone already known (zoneinfo claim), if any. */
  timezone: string | undefined;
  unsupportedLocale: string | undefined;
  unsupportedTimezone: string | undefined;
  error: string | undefined;
}

// Reads the browser's zone; when it and the locale are supported it posts the form at once,
// else it shows the chooser with what it found. Inline, so the page needs nothing else.
const SCRIPT = `(function(){
var f=document.getElementById('first-login');
var tz='';try{tz=Intl.DateTimeFormat().resolvedOptions().timeZone||'';}catch(e){}
f.elements['detected_timezone'].value=tz;
var sel=f.elements['timezone'];var known=f.dataset.timezone;var ok=false;
for(var i=0;i<sel.options.length;i++){if(sel.options[i].value===(known||tz)){sel.selectedIndex=i;ok=true;}}
var loc=f.elements['locale'];
if(loc.tagName==='SELECT'){var nl=(navigator.language||'').toLowerCase();
for(var j=0;j<loc.options.length;j++){if(loc.options[j].value.toLowerCase()===nl){loc.selectedIndex=j;}}}
if(ok&&f.dataset.auto==='true'){f.submit();return;}
if(!ok&&tz&&!known){var n=document.getElementById('tz-note');n.textContent='Your browser reports the time zone '+tz+', which is not supported here. Please choose one.';n.hidden=false;}
document.getElementById('chooser').hidden=false;})();`;

/**
 * The first-login page (seed 002): the browser's own time zone completes the new account;
 * when the zone or the locale is not one the tenant supports, the person picks from lists.
 */
export function FirstLoginPage(p: FirstLoginPageProps) {
  const auto = p.locale !== undefined && p.unsupportedTimezone === undefined && !p.error;
  return (
    <Layout title="Welcome">
      <h1>Welcome to carebridge</h1>
      <form
        id="first-login"
        method="post"
        action="/sso/first-login"
        data-auto={auto ? 'true' : 'false'}
        data-timezone={p.timezone ?? ''}
      >
        <input type="hidden" name="state" value={p.state} />
        <input type="hidden" name="detected_timezone" value="" />
        <noscript>
          <p>Please choose your language and time zone.</p>
        </noscript>
        <div id="chooser" hidden>
          {p.error && (
            <p class="note" id="error">
              {p.error}
            </p>
          )}
          <p class="note" id="tz-note" hidden={p.unsupportedTimezone === undefined}>
            {p.unsupportedTimezone
              ? `Your identity provider gives the time zone ${p.unsupportedTimezone}, which is not supported here. Please choose one.`
              : ''}
          </p>
          {p.locale ? (
            <input type="hidden" name="locale" value={p.locale} />
          ) : (
            <>
              {p.unsupportedLocale && (
                <p class="note" id="locale-note">
                  Your language {p.unsupportedLocale} is not supported here. Please choose one.
                </p>
              )}
              <label for="locale">Language</label>
              <select id="locale" name="locale">
                {p.locales.map((l) => (
                  <option value={l}>{l}</option>
                ))}
              </select>
            </>
          )}
          <label for="timezone">Time zone</label>
          <select id="timezone" name="timezone">
            {p.timeZones.map((z) => (
              <option value={z}>{z}</option>
            ))}
          </select>
          <div>
            <button type="submit">Continue</button>
          </div>
        </div>
        <script dangerouslySetInnerHTML={{ __html: SCRIPT }} />
      </form>
    </Layout>
  );
}
