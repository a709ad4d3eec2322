import { Layout } from './layout.tsx';

/** The page of a refused sign-in: what happened in plain words, and the request to quote. */
export function ErrorPage(props: { code: string; message: string; requestId: string }) {
  return (
    <Layout title="Sign-in refused">
      <h1>Sign-in refused</h1>
      <p id="reason" data-code={props.code}>
        {props.message}
      </p>
      <p class="muted">
        Reason code <code>{props.code}</code>; request id <code>{props.requestId}</code>.
      </p>
    </Layout>
  );
}
