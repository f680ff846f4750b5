// deploy/ and the Dockerfile, checked by real tools since no Docker engine or Kubernetes runs here: Debian's
// docker-compose parses both compose files (`config -q`), kubernetes-models validates each manifest against the
// Kubernetes OpenAPI schemas it bundles, dockerfile-utils lints the Dockerfile; then the choices the issue asks for.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { loadDeployment } from '../../deploy/lib/hosts.js';
import { renderNginxFiles } from '../../deploy/lib/nginx-config.js';
import { REPO } from '../../deploy/topology/release.js';

const run = promisify(execFile);
const DEPLOY = path.join(REPO, 'deploy');

/** `docker-compose config -q` with a project directory whose ../.env.prod exists (never the developer's own). */
async function composeConfig(file: string): Promise<{ ok: boolean; output: string }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'parley-compose-'));
  try {
    await mkdir(path.join(root, 'deploy'));
    await copyFile(path.join(REPO, '.env.prod.example'), path.join(root, '.env.prod'));
    const env = { PATH: process.env.PATH ?? '', POSTGRES_PASSWORD: 'example', REPLICATION_PASSWORD: 'example' };
    await run('docker-compose', ['--project-directory', path.join(root, 'deploy'), '-f', file, 'config', '-q'], {
      env,
    });
    return { ok: true, output: '' };
  } catch (error) {
    return { ok: false, output: String((error as { stderr?: string }).stderr ?? error) };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function manifests(): Promise<Array<{ file: string; doc: any }>> {
  const dir = path.join(DEPLOY, 'k8s');
  const out: Array<{ file: string; doc: any }> = [];
  for (const file of (await readdir(dir)).filter((name) => name.endsWith('.yaml')).sort()) {
    for (const document of parseAllDocuments(await readFile(path.join(dir, file), 'utf8'))) {
      expect(document.errors, file).to.deep.equal([]);
      out.push({ file, doc: document.toJS() });
    }
  }
  return out;
}

/** Validates one object against the schema of its apiVersion and kind; throws with the schema's complaint. */
async function validateManifest(doc: { apiVersion: string; kind: string }): Promise<void> {
  const models = (await import(`kubernetes-models/${doc.apiVersion}`)) as Record<
    string,
    new (data: unknown) => { validate(): void }
  >;
  const Model = models[doc.kind];
  if (!Model) throw new Error(`no schema for ${doc.apiVersion} ${doc.kind}`);
  new Model(doc).validate();
}

describe('deploy/: compose files, Kubernetes manifests, Dockerfile', () => {
  for (const file of ['docker-compose.yml', 'docker-compose.prod.yml']) {
    it(`when docker-compose parses deploy/${file}, then it is valid`, async () => {
      const { ok, output } = await composeConfig(path.join(DEPLOY, file));
      expect(ok, output).to.equal(true);
    });
  }

  it('when a compose file has a key compose does not know, then docker-compose config fails (the check can fail)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'parley-compose-bad-'));
    try {
      const file = path.join(dir, 'bad.yml');
      await writeFile(file, 'services:\n  app:\n    image: x\n    restart_policy: always\n');
      const { ok, output } = await composeConfig(file);
      expect(ok).to.equal(false);
      expect(output).to.include('restart_policy');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('when the production compose file is read, then every service has a healthcheck or waits on healthy ones, limits, and rotated logs', async () => {
    const { parse } = await import('yaml');
    const compose = parse(await readFile(path.join(DEPLOY, 'docker-compose.prod.yml'), 'utf8'), { merge: true });
    const services = compose.services as Record<string, any>;
    expect(Object.keys(services).sort()).to.deep.equal([
      'app',
      'nginx',
      'postgres-primary',
      'postgres-replica',
      'redis',
    ]);
    for (const [name, service] of Object.entries(services)) {
      expect(service.logging?.options?.['max-size'], `${name} log rotation`).to.be.a('string');
      for (const dependency of Object.values(service.depends_on ?? {}) as Array<{ condition: string }>)
        expect(dependency.condition, name).to.equal('service_healthy');
      if (name !== 'app')
        expect(service.healthcheck, `${name} healthcheck (app's is the image's HEALTHCHECK)`).to.be.an('object');
    }
    expect(services.app.deploy.resources.limits).to.deep.equal({ cpus: '2', memory: '4G' });
    expect(services.app.deploy.resources.reservations).to.have.keys('cpus', 'memory');
    expect(services.app.environment.TRUST_PROXY).to.equal('1');
  });

  it('when the compose nginx upstreams are rendered from deploy/nginx-compose/hosts.json, then they are the shipped ones', async () => {
    const rendered = renderNginxFiles(loadDeployment(path.join(DEPLOY, 'nginx-compose', 'hosts.json')));
    for (const [name, text] of Object.entries(rendered))
      expect(await readFile(path.join(DEPLOY, 'nginx-compose', name), 'utf8'), name).to.equal(text);
  });

  it('when each Kubernetes manifest is checked against the Kubernetes schemas, then all are valid', async () => {
    const docs = await manifests();
    expect(docs.map((d) => d.doc.kind).sort()).to.deep.equal([
      'ConfigMap',
      'Deployment',
      'HorizontalPodAutoscaler',
      'Ingress',
      'PodDisruptionBudget',
      'Secret',
      'Service',
    ]);
    for (const { file, doc } of docs)
      await validateManifest(doc).catch((error: Error) => expect.fail(`${file}: ${error.message}`));
  });

  it('when a manifest has a wrong type, then the schema check rejects it (the check can fail)', async () => {
    const deployment = (await manifests()).find((d) => d.doc.kind === 'Deployment')!.doc;
    deployment.spec.template.spec.containers[0].ports[0].containerPort = 'three thousand';
    let message = '';
    await validateManifest(deployment).catch((error: Error) => (message = error.message));
    expect(message).to.match(/containerPort must be integer/);
  });

  it('when the Deployment is read, then probes, drain timing, resources and autoscaling match the app', async () => {
    const docs = await manifests();
    const byKind = (kind: string) => docs.find((d) => d.doc.kind === kind)!.doc;
    const pod = byKind('Deployment').spec.template.spec;
    const container = pod.containers[0];
    expect(container.livenessProbe.httpGet.path).to.equal('/health/live');
    expect(container.readinessProbe.httpGet.path).to.equal('/health/ready');
    expect(container.command).to.deep.equal(['node', 'dist/main.js']);
    expect(container.resources.requests).to.have.keys('cpu', 'memory');
    expect(container.resources.limits).to.have.keys('cpu', 'memory');
    const shutdownMs = Number(byKind('ConfigMap').data.SHUTDOWN_TIMEOUT_MS);
    const preStopSeconds = Number(container.lifecycle.preStop.exec.command[1]);
    expect(pod.terminationGracePeriodSeconds * 1000).to.be.greaterThan(preStopSeconds * 1000 + shutdownMs);
    const hpa = byKind('HorizontalPodAutoscaler').spec;
    expect(hpa.metrics[0].resource).to.deep.equal({
      name: 'cpu',
      target: { type: 'Utilization', averageUtilization: 70 },
    });
    // The per-pod pool fits the database budget at the HPA's maximum plus the surge pod.
    expect(Number(byKind('ConfigMap').data.DB_POOL_MAX) * (hpa.maxReplicas + 1)).to.be.at.most(100 - 5);
    expect(byKind('Ingress').metadata.annotations['nginx.ingress.kubernetes.io/affinity']).to.equal('cookie');
  });

  it('when dockerfile-utils lints the Dockerfile, then it finds nothing; and the image runs PM2 on Node 24 as non-root with a liveness check', async () => {
    const text = await readFile(path.join(REPO, 'Dockerfile'), 'utf8');
    expect(lintDockerfile(text).map((d) => `${d.range.start.line + 1}: ${d.message}`)).to.deep.equal([]);
    expect(text.match(/^FROM node:24-\S+/gm)).to.have.length(2);
    expect(text).to.match(/^USER node$/m);
    expect(text).to.match(/^HEALTHCHECK .*\n?.*\/health\/live/m);
    expect(text).to.match(/^CMD \["pm2-runtime", "ecosystem.config.js", "--env", "production"\]$/m);
    expect(lintDockerfile('FROM node:24\nHEALTHCHECK CMD\n')).to.have.length.greaterThan(0);
  });
});
