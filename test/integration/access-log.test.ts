// The access log: one info line per request (probes and scrapes at debug), off with ACCESS_LOG=false.
import { expect } from 'chai';
import { register, request } from '../support/client.js';
import { startServer, stopAll, type ServerProcess } from '../support/processes.js';
import { until } from '../support/sockets.js';

interface Line {
  level: number;
  msg: string;
  method?: string;
  route?: string;
  url?: string;
  status?: number;
  ms?: number;
  reqId?: string;
  userId?: string;
}

const INFO = 30;

function requestLines(server: ServerProcess): Line[] {
  return server
    .output()
    .split('\n')
    .filter((text) => text.startsWith('{'))
    .map((text) => JSON.parse(text) as Line)
    .filter((line) => line.msg === 'request');
}

describe('access log', () => {
  after(() => stopAll('SIGKILL'));

  it('when a request is served, then one info line has its method, route, url, status, duration, reqId and userId', async () => {
    const server = await startServer({ LOG_LEVEL: 'info' });
    const account = await register(server.url);
    const me = await request(server.url, 'GET', `/api/conversations/123456/messages?limit=5`, {
      token: account.accessToken,
      headers: { 'x-request-id': 'trace-me-1' },
    });
    expect(me.status).to.equal(404);
    await request(server.url, 'GET', '/health/ready');
    await request(server.url, 'GET', '/metrics');
    await until(() => requestLines(server).some((line) => line.reqId === 'trace-me-1'), 5_000, 'the access log line');

    const lines = requestLines(server);
    const line = lines.find((l) => l.reqId === 'trace-me-1')!;
    expect(line).to.include({
      level: INFO,
      method: 'GET',
      route: '/api/conversations/:id/messages',
      url: '/api/conversations/123456/messages?limit=5',
      status: 404,
      userId: account.user.id,
    });
    expect(line.ms).to.be.a('number').and.at.least(0);
    const registered = lines.find((l) => l.route === '/api/auth/register')!;
    expect(registered).to.include({ level: INFO, method: 'POST', status: 201 });
    expect(registered.reqId).to.match(/^[0-9a-f-]{36}$/);
    expect(
      lines.filter((l) => l.url === '/health/ready' || l.url === '/metrics'),
      'probes and scrapes stay at debug',
    ).to.deep.equal([]);
  });

  it('when ACCESS_LOG=false, then requests write no info line', async () => {
    const server = await startServer({ LOG_LEVEL: 'info', ACCESS_LOG: 'false' });
    await register(server.url);
    const reply = await request(server.url, 'GET', '/api/me');
    expect(reply.status).to.equal(401);
    // The shutdown's info lines come after the requests' would have: once they are in, none of those was written.
    await server.stop('SIGINT');
    expect(server.output()).to.include('shutdown complete');
    expect(requestLines(server)).to.deep.equal([]);
  });
});
