// Checks a Compose file without a container engine: against the Compose specification's
// JSON schema (compose-spec.json, draft-07, see README.md), raw and after interpolation,
// then against Annex's deployment rules. Usage:
//   node validate.mjs ../../compose.yaml [--expect-invalid invalid.yaml]
//        [--expect-rule-violations rules-broken.yaml]
// Files before any flag must pass everything. An --expect-invalid file must be rejected by
// the schema; an --expect-rule-violations file must pass the schema and break every rule.
// Either the other way round fails the run, so the checks cannot pass vacuously.
// Exit status: 0 when every expectation holds, 1 otherwise.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import { parse } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const schema = JSON.parse(readFileSync(join(here, 'compose-spec.json'), 'utf8'));
// The schema declares draft-07 as https://json-schema.org/draft-07/schema, a spelling Ajv
// does not know; Ajv's default class is draft-07, so the declaration is dropped.
if (!String(schema.$schema).includes('draft-07')) throw new Error(`unexpected $schema ${schema.$schema}`);
delete schema.$schema;
const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(schema);

// Compose interpolation, enough for these files: $$ is a literal $, ${VAR}, ${VAR:-default},
// ${VAR-default}, ${VAR:?message}, ${VAR?message}. Required variables get a sample value.
function interpolate(value, env) {
  if (typeof value === 'string') {
    return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (m, name, op, arg) => {
      if (m === '$$') return '$';
      const set = env[name];
      if (op === ':-') return set ? set : arg;
      if (op === '-') return set ?? arg;
      return set ?? `sample-${name.toLowerCase()}`;
    });
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)]));
  }
  return value;
}

function schemaErrors(doc) {
  if (validate(doc)) return [];
  return validate.errors.map((e) => `schema: ${e.instancePath || '/'} ${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ''}`);
}

// environment as a map or a list of KEY=VALUE.
function environment(service) {
  const env = service?.environment ?? {};
  if (!Array.isArray(env)) return env;
  return Object.fromEntries(env.map((e) => [e.split('=')[0], e.slice(e.indexOf('=') + 1)]));
}

function urlUser(url) {
  const m = /^postgres(?:ql)?:\/\/([^:@/]+)[:@]/.exec(String(url ?? ''));
  return m ? m[1] : undefined;
}

// Annex's deployment rules, on the interpolated file. Each returns an error or null.
const rules = [
  ['db image is postgres:16', (c) => (/^postgres:16([.-]|$)/.test(c.services?.db?.image ?? '') ? null : `services.db.image is ${c.services?.db?.image}`)],
  ['annex is built from the Dockerfile', (c) => (c.services?.annex?.build ? null : 'services.annex has no build')],
  ['db has a pg_isready health check', (c) => (JSON.stringify(c.services?.db?.healthcheck?.test ?? '').includes('pg_isready') ? null : 'services.db.healthcheck.test does not run pg_isready')],
  ['annex has an explicit annex healthcheck', (c) => (JSON.stringify(c.services?.annex?.healthcheck?.test ?? '').includes('healthcheck') && !c.services?.annex?.healthcheck?.disable ? null : 'services.annex.healthcheck does not run `annex healthcheck`')],
  ['annex waits for a healthy db', (c) => (c.services?.annex?.depends_on?.db?.condition === 'service_healthy' ? null : 'services.annex.depends_on.db.condition is not service_healthy')],
  ['ANNEX_MODE=production', (c) => (environment(c.services?.annex).ANNEX_MODE === 'production' ? null : 'services.annex.environment.ANNEX_MODE is not production')],
  ['runtime role differs from the owner', (c) => {
    const env = environment(c.services?.annex);
    const runtime = urlUser(env.DATABASE_URL);
    const owner = urlUser(env.ANNEX_MIGRATION_DATABASE_URL);
    if (!runtime || !owner) return 'DATABASE_URL and ANNEX_MIGRATION_DATABASE_URL must both be postgres URLs with a user';
    if (runtime === owner) return `DATABASE_URL and ANNEX_MIGRATION_DATABASE_URL both connect as ${runtime}`;
    const dbUser = environment(c.services?.db).POSTGRES_USER;
    return owner === dbUser ? null : `the owner ${owner} is not the image's POSTGRES_USER (${dbUser})`;
  }],
  ['a named volume holds the PostgreSQL data', (c) => {
    const mounts = (c.services?.db?.volumes ?? []).map((v) => (typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1] } : v));
    const data = mounts.find((m) => m.target === '/var/lib/postgresql/data');
    if (!data) return 'no volume mounted at /var/lib/postgresql/data';
    return Object.hasOwn(c.volumes ?? {}, data.source) ? null : `${data.source} is not a named volume`;
  }],
  ['annex publishes port 8080', (c) => ((c.services?.annex?.ports ?? []).some((p) => (typeof p === 'object' ? String(p.target) === '8080' : /(^|:)8080$/.test(String(p)))) ? null : 'services.annex.ports does not publish 8080')],
];

function ruleErrors(doc) {
  return rules.map(([name, check]) => [name, check(doc)]).filter(([, e]) => e).map(([name, e]) => `rule "${name}": ${e}`);
}

function check(file) {
  const raw = parse(readFileSync(file, 'utf8'));
  const interpolated = interpolate(raw, {});
  const schema = [...new Set([...schemaErrors(raw), ...schemaErrors(interpolated)])];
  return { schema, rules: schema.length ? [] : ruleErrors(interpolated) };
}

const args = process.argv.slice(2);
if (!args.length) {
  console.error('usage: node validate.mjs COMPOSE.yaml… [--expect-invalid FILE…] [--expect-rule-violations FILE…]');
  process.exit(2);
}
let mode = 'valid';
let failed = 0;
for (const arg of args) {
  if (arg === '--expect-invalid') { mode = 'invalid'; continue; }
  if (arg === '--expect-rule-violations') { mode = 'rules'; continue; }
  let result;
  try {
    result = check(arg);
  } catch (e) {
    result = { schema: [`cannot read: ${e.message}`], rules: [] };
  }
  const errors = [...result.schema, ...result.rules];
  if (mode === 'valid') {
    if (errors.length) { failed++; console.log(`FAIL ${arg}`); } else console.log(`ok   ${arg}: Compose schema and ${rules.length} rules`);
  } else if (mode === 'invalid') {
    if (result.schema.length) console.log(`ok   ${arg}: rejected by the schema as expected (${result.schema.length} errors)`);
    else { failed++; console.log(`FAIL ${arg}: the schema accepted a file meant to be invalid`); }
  } else if (result.schema.length || result.rules.length !== rules.length) {
    failed++;
    console.log(`FAIL ${arg}: expected schema-valid and all ${rules.length} rules broken, got ${result.schema.length} schema errors and ${result.rules.length} broken rules`);
  } else console.log(`ok   ${arg}: every rule rejects it as expected`);
  for (const e of errors) console.log(`     ${e}`);
}
process.exit(failed ? 1 : 0);
