// Attack: reach a guarded route under another spelling of its path. @koa/router matched paths in any letter case
// while the guards compared prefixes as written, so `/API/users` answered 200 with no credential and
// `/API/AUTH/LOGIN` escaped the per-IP limit. Walks every registered route and tries case and encoding variants.
import { expect } from 'chai';
import { buildRouters } from '../../../src/http/app.js';
import type { ParleyRouter } from '../../../src/http/router.js';
import { request } from '../../support/client.js';
import { useTestApp, type TestApp } from '../../support/app.js';

interface Route {
  method: string;
  path: string;
}

/** Every route of a router, its parameters filled with a valid id. */
function routesOf(router: ParleyRouter): Route[] {
  return router.stack
    .filter((layer) => layer.methods.length > 0)
    .map((layer) => ({
      method: layer.methods.find((m) => m !== 'HEAD')!,
      path: String(layer.path).replace(/:\w+/g, '1'),
    }));
}

/** The spellings an attacker tries: letter case, doubled or trailing slashes, percent-encoded letters. */
function variants(path: string): string[] {
  const segments = path.split('/');
  const encodeFirstLetter = (segment: string) => `%${segment.charCodeAt(0).toString(16)}${segment.slice(1)}`;
  return [
    path.toUpperCase(),
    `/API${path.slice(4)}`,
    segments.map((segment) => segment.charAt(0).toUpperCase() + segment.slice(1)).join('/'),
    path.replace('/api/', '/api//'),
    `${segments.slice(0, 2).join('/')}/${encodeFirstLetter(segments[2]!)}${segments.length > 3 ? '/' + segments.slice(3).join('/') : ''}`,
    `${path}/`,
    `${path}//`,
  ];
}

const send = (app: TestApp, route: Route, path: string) =>
  request(app.url, route.method, path, route.method === 'GET' || route.method === 'DELETE' ? {} : { body: {} });

describe('security: route spelling attack', function () {
  this.timeout(60_000);
  const AUTH_LIMIT = 5;
  const app = useTestApp({ RATE_LIMIT_AUTH_PER_MIN: String(AUTH_LIMIT) });

  it('when any spelling of an authenticated route is sent without a credential, then 401 or 404, never served', async () => {
    const routes = routesOf(buildRouters(app.parley, app.parley.http).api);
    expect(routes.length).to.be.greaterThan(10);
    for (const route of routes) {
      expect((await send(app, route, route.path)).status, `${route.method} ${route.path}`).to.equal(401);
      for (const path of variants(route.path)) {
        const { status } = await send(app, route, path);
        expect([401, 404], `${route.method} ${path}`).to.include(status);
      }
    }
  });

  it('when the per-IP limit on the auth routes is spent, then every spelling of them is limited or unknown', async () => {
    const routes = routesOf(buildRouters(app.parley, app.parley.http).publicAuth);
    expect(routes.map((route) => route.path).sort()).to.deep.equal([
      '/api/auth/login',
      '/api/auth/refresh',
      '/api/auth/register',
    ]);
    const login = routes.find((route) => route.path === '/api/auth/login')!;
    const wrongPassword = { body: { username: 'nobody_here', password: 'wrong password' } };
    for (let i = 0; i < AUTH_LIMIT; i++) await request(app.url, 'POST', login.path, wrongPassword);
    expect((await request(app.url, 'POST', login.path, wrongPassword)).status).to.equal(429);
    for (const route of routes) {
      for (const path of [route.path, ...variants(route.path)]) {
        const { status } = await request(app.url, 'POST', path, wrongPassword);
        expect([404, 429], `POST ${path}`).to.include(status);
      }
    }
  });
});
