// Runs graphql-http's server audits (GraphQL over HTTP conformance) against a running
// Annex and fails on any MUST or SHOULD that does not pass. Usage:
//   ANNEX_AUDIT_URL=http://127.0.0.1:8080/graphql ANNEX_AUDIT_TOKEN=<jwt> node audit.mjs
// Every request carries the token; GET requests also carry the `x-annex-csrf` header a
// real client sends on GET (Annex refuses a GET query without it, as Apollo's CSRF
// prevention does, so a cross-site GET cannot run one). POSTs go as the audit sends them:
// application/json needs no such header, and a POST without a JSON content type (fetch
// makes it text/plain) is refused like any CSRF-simple request.
import { serverAudits } from 'graphql-http';

const url = process.env.ANNEX_AUDIT_URL ?? 'http://127.0.0.1:8080/graphql';
const token = process.env.ANNEX_AUDIT_TOKEN;

function fetchFn(input, init = {}) {
  const headers = new Headers(init.headers ?? {});
  if ((init.method ?? 'GET').toUpperCase() === 'GET') headers.set('x-annex-csrf', '1');
  if (token) headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

let failed = 0;
for (const audit of serverAudits({ url, fetchFn })) {
  const result = await audit.fn();
  const level = audit.name.split(' ')[0];
  const line = `${result.status.padEnd(7)} ${audit.id} ${audit.name}`;
  if (result.status === 'ok') {
    console.log(line);
  } else {
    console.log(`${line}\n        ${result.reason}`);
    if (level === 'MUST' || level === 'SHOULD') failed++;
  }
}
if (failed > 0) {
  console.error(`${failed} MUST/SHOULD audit(s) failed`);
  process.exit(1);
}
console.log('graphql-http audit: every MUST and SHOULD passes');
