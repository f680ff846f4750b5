// GET /openapi.json: a valid OpenAPI 3.1 document (checked by @seriousme/openapi-schema-validator) that covers
// every route the app registers, says truthfully which need a credential, and whose response shapes match what
// the server really sends.
import { Validator } from '@seriousme/openapi-schema-validator';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { authSchema, conversationSchema, errorSchema, messageSchema, userSchema } from '../../src/http/openapi.js';
import { useTestApp, type TestApp } from '../support/app.js';
import { register, request } from '../support/client.js';

interface Operation {
  security?: Array<Record<string, string[]>>;
  responses: Record<string, unknown>;
}
type Document = { openapi: string; paths: Record<string, Record<string, Operation>> };

/** Answered before Koa's routers (http/liveness.ts), so not in any router's stack. */
const OUTSIDE_ROUTERS = ['GET /health/live'];

/** Every method + path the app's routers register, in OpenAPI's `{param}` form. */
function registeredRoutes(app: TestApp): string[] {
  const routes = new Set<string>();
  for (const middleware of app.parley.http.middleware as Array<{
    router?: { stack: Array<{ path: string | RegExp; methods: string[] }> };
  }>) {
    for (const layer of middleware.router?.stack ?? []) {
      if (typeof layer.path !== 'string')
        throw new Error(`a route with a RegExp path cannot be documented: ${String(layer.path)}`);
      const path = layer.path.replace(/:(\w+)/g, '{$1}').replace(/(.)\/$/, '$1');
      for (const method of layer.methods) if (method !== 'HEAD') routes.add(`${method} ${path}`);
    }
  }
  return [...routes].sort();
}

function documentedRoutes(doc: Document): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
}

function expectShape(schema: z.ZodType, value: unknown, what: string): void {
  const result = schema.safeParse(value);
  expect(result.success, `${what}: ${JSON.stringify(result.error?.issues)}`).to.equal(true);
}

describe('OpenAPI document', () => {
  const app = useTestApp();
  let doc: Document;

  before(async () => {
    const reply = await request(app.url, 'GET', '/openapi.json');
    expect(reply.status).to.equal(200);
    expect(reply.headers.get('content-type')).to.match(/^application\/json/);
    doc = reply.body;
  });

  it('when /openapi.json is fetched, then an OpenAPI validator accepts it as 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as unknown as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 1)?.slice(0, 3000)).to.deep.equal([]);
    expect(result.valid).to.equal(true);
    expect(validator.version).to.equal('3.1');
  });

  it('when the routers are walked, then every registered route is documented and every documented one exists', () => {
    const registered = registeredRoutes(app);
    expect(registered.length).to.be.greaterThan(15);
    expect(documentedRoutes(doc)).to.deep.equal([...registered, ...OUTSIDE_ROUTERS].sort());
  });

  it('when docs/API.md (the wire contract) names a route, then the OpenAPI document has it', () => {
    // Table rows open with the route (`| GET /api/me |`); prose quotes it (`\`PATCH /api/...\``). A query is an example.
    const contract = readFileSync(new URL('../../docs/API.md', import.meta.url), 'utf8');
    const named = [...contract.matchAll(/(?:^\| |`)(GET|POST|PUT|PATCH|DELETE) (\/[^\s`?|]*)/gm)].map(
      ([, method, path]) => `${method} ${path!.replace(/:\w+/g, '{}')}`,
    );
    expect(named.length, 'routes found in the contract').to.be.greaterThan(25);
    const documented = new Set(documentedRoutes(doc).map((route) => route.replace(/\{\w+\}/g, '{}')));
    expect(named.filter((route) => !documented.has(route))).to.deep.equal([]);
  });

  it('when a route is documented as needing a credential, then it answers 401 without one, and documents 401, 429 and 500', async () => {
    const secured = Object.entries(doc.paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([, op]) => (op.security ?? []).length > 0)
        .map(([method, op]) => ({ method: method.toUpperCase(), path: path.replace(/\{\w+\}/g, '1'), op })),
    );
    expect(secured.length).to.be.greaterThan(10);
    for (const { method, path, op } of secured) {
      const reply = await request(app.url, method, path, method === 'GET' || method === 'DELETE' ? {} : { body: {} });
      expect(reply.status, `${method} ${path}`).to.equal(401);
      expectShape(errorSchema, reply.body, `${method} ${path}`);
      expect(Object.keys(op.responses), `${method} ${path}`).to.include.members(['401', '429', '500']);
    }
    // And the public ones are the three that issue credentials, plus operations.
    const open = documentedRoutes(doc).filter(
      (route) =>
        !secured.some(
          (s) => route.startsWith(`${s.method} `) && route.split(' ')[1]!.replace(/\{\w+\}/g, '1') === s.path,
        ),
    );
    expect(open.filter((route) => route.includes('/api/'))).to.deep.equal([
      'POST /api/auth/login',
      'POST /api/auth/refresh',
      'POST /api/auth/register',
    ]);
  });

  it('when the API answers, then its bodies have the documented shapes', async () => {
    const ada = await register(app.url);
    const bob = await register(app.url);
    const registered = await request(app.url, 'POST', '/api/auth/login', {
      body: { username: ada.user.username, password: 'correct horse' },
    });
    expectShape(authSchema, registered.body, 'login');
    const me = await request(app.url, 'GET', '/api/me', { token: ada.accessToken });
    expectShape(userSchema, me.body.user, 'me');
    const created = await request(app.url, 'POST', '/api/conversations', {
      token: ada.accessToken,
      body: { kind: 'group', title: 'docs', memberIds: [bob.user.id] },
    });
    expect(created.status).to.equal(201);
    expectShape(conversationSchema, created.body.conversation, 'conversation');
    const promoted = await request(
      app.url,
      'PATCH',
      `/api/conversations/${created.body.conversation.id}/members/${bob.user.id}`,
      { token: ada.accessToken, body: { role: 'admin' } },
    );
    expect(promoted.status).to.equal(200);
    expectShape(conversationSchema, promoted.body.conversation, 'conversation after a role change');
    const sent = await request(app.url, 'POST', `/api/conversations/${created.body.conversation.id}/messages`, {
      token: ada.accessToken,
      body: { body: 'hi', clientMsgId: 'c1' },
    });
    expectShape(messageSchema, sent.body.message, 'message');
    const bad = await request(app.url, 'POST', '/api/auth/register', { body: { username: 'X' } });
    expect(bad.status).to.equal(400);
    expectShape(errorSchema, bad.body, 'validation error');
    // The schemas are not so loose that anything passes.
    expect(messageSchema.safeParse({ ...sent.body.message, seq: 'one' }).success).to.equal(false);
  });
});
