import type { Child } from 'hono/jsx';

// Contrast: text #1d2430 and links #0a4f96 on white, white on #0a4f96, all above 7:1.
const CSS = `*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;margin:0;color:#1d2430;background:#fff;line-height:1.45}
a{color:#0a4f96}a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,summary:focus-visible{outline:3px solid #b35900;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:2}
header{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;justify-content:space-between;padding:.6rem 1rem;background:#0a4f96;color:#fff}
header a{color:#fff}header nav ul{display:flex;gap:1rem;list-style:none;margin:0;padding:0}
header nav a[aria-current=page]{font-weight:700;text-decoration-thickness:3px}
main{padding:1rem;max-width:90rem;margin:0 auto}
h1{font-size:1.5rem;margin:.4rem 0 1rem}h2{font-size:1.2rem;margin:1.6rem 0 .6rem}
label{font-weight:600;display:block;margin-bottom:.2rem}
input,select,button{font:inherit;padding:.45rem .6rem;border:1px solid #5b6472;border-radius:4px;min-height:2.75rem}
.button{padding:.45rem .6rem;border:1px solid;border-radius:4px;min-height:2.75rem;display:inline-flex;align-items:center}
button,.button{background:#0a4f96;color:#fff;border-color:#0a4f96;cursor:pointer;text-decoration:none}
.button.danger{background:#a4161a;border-color:#a4161a}
input[type=checkbox],input[type=radio]{min-height:auto;width:1.2rem;height:1.2rem;vertical-align:middle}
button.secondary{background:#fff;color:#0a4f96}button.danger{background:#a4161a;border-color:#a4161a}
header button{background:#fff;color:#0a4f96}
.filters{display:flex;flex-wrap:wrap;gap:.8rem 1.2rem;align-items:flex-end;margin-bottom:1rem}
fieldset{border:1px solid #c4cad3;border-radius:4px;margin:0}legend{font-weight:600}
fieldset label{display:inline;font-weight:400;margin-right:.8rem}
.table-wrap{overflow-x:auto}table{border-collapse:collapse;width:100%;min-width:44rem}
th,td{text-align:left;padding:.5rem;border-bottom:1px solid #d5dae1;vertical-align:top}
th a{text-decoration:none}th a:hover{text-decoration:underline}
caption{text-align:left;font-weight:600;padding:.4rem 0}
.pager{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;margin-top:1rem}
.actions{display:flex;flex-wrap:wrap;gap:.6rem;margin:1rem 0}.actions form{margin:0}
dl.details{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}dl.details dt{font-weight:600}dl.details dd{margin:0}
.notice{background:#e8f1fb;border-left:4px solid #0a4f96;padding:.6rem .8rem}
.error{background:#fdecec;border-left:4px solid #a4161a;padding:.6rem .8rem}
.counts{display:flex;flex-wrap:wrap;gap:1rem;list-style:none;padding:0}.counts li{border:1px solid #c4cad3;border-radius:4px;padding:.5rem 1rem}
@media (max-width:48rem){dl.details{grid-template-columns:1fr}main{padding:.6rem}}`;

export type Section = 'users' | 'groups' | 'staff-members' | 'sites' | 'import' | 'access';

/** The console frame: landmarks, a skip link, the navigation and the sign-out form. */
export function ConsoleLayout(props: {
  title: string;
  section?: Section | undefined;
  userName?: string | undefined;
  csrf?: string | undefined;
  children: Child;
}) {
  const link = (section: Section, href: string, label: string) => (
    <li>
      <a href={href} aria-current={props.section === section ? 'page' : undefined}>
        {label}
      </a>
    </li>
  );
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title} · carebridge admin</title>
        <style>{CSS}</style>
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header>
          <strong>carebridge admin</strong>
          {props.csrf ? (
            <nav aria-label="Console">
              <ul>
                {link('users', '/admin/users', 'Users')}
                {link('groups', '/admin/groups', 'Groups')}
                {link('staff-members', '/admin/staff-members', 'Staff members')}
                {link('sites', '/admin/sites', 'Sites')}
                {link('import', '/admin/import', 'CSV import')}
                {link('access', '/admin/access', 'Sign-in and tokens')}
              </ul>
            </nav>
          ) : null}
          {props.csrf ? (
            <form method="post" action="/admin/sign-out">
              <input type="hidden" name="_csrf" value={props.csrf} />
              <span>{props.userName} </span>
              <button type="submit">Sign out</button>
            </form>
          ) : null}
        </header>
        <main id="main">{props.children}</main>
      </body>
    </html>
  );
}

/** A hidden CSRF field for a POST form of the console. */
export function Csrf(props: { token: string }) {
  return <input type="hidden" name="_csrf" value={props.token} />;
}
