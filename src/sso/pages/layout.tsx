import type { Child } from 'hono/jsx';

/** The frame of every SSO page: plain, readable, no external resources. */
export function Layout(props: { title: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title} · carebridge</title>
        <style>{`body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1d2430}
h1{font-size:1.4rem}label{display:block;margin:1rem 0 .3rem;font-weight:600}
select,button{font-size:1rem;padding:.4rem;min-width:16rem}button{margin-top:1.2rem}
.note{background:#fff4d6;border-left:4px solid #d9a400;padding:.6rem .8rem}.muted{color:#5b6472;font-size:.9rem}`}</style>
      </head>
      <body>{props.children}</body>
    </html>
  );
}
