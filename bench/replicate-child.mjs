// One replication in a process of its own (so its peak RSS is its own), from the built dist/: reads its job from IMAGESYNC_BENCH_JOB, prints one JSON line.
import { performance } from 'node:perf_hooks';
import { CloudConnection } from '../dist/openstack/cloud.js';
import { imageV2Base } from '../dist/openstack/catalog.js';
import { GlanceClient } from '../dist/openstack/glance.js';
import { ServiceClient } from '../dist/openstack/service.js';
import { Redactor } from '../dist/redact.js';
import { fieldsOf } from '../dist/replicate/fields.js';
import { replicate } from '../dist/replicate/replicate.js';

const job = JSON.parse(process.env.IMAGESYNC_BENCH_JOB ?? '{}');
const conn = new CloudConnection(
  {
    name: 'bench',
    auth: { type: 'password', authUrl: job.authUrl, username: job.username, userDomainName: 'Default', password: job.password, projectName: job.project, projectDomainName: 'Default' },
    interface: 'public',
    insecure: false,
    source: 'bench/replicate-child.mjs',
    secrets: [job.password],
  },
  { redactor: new Redactor() },
);
const glance = (region) => new GlanceClient(new ServiceClient(conn.session, conn.http, imageV2Base(job.glance[region]), { cloud: 'bench', region }));
const started = performance.now();
try {
  const image = await glance(job.sourceRegion).getImage(job.sourceId);
  const [out] = await replicate({
    runId: job.runId,
    name: job.name,
    source: { kind: 'glance', target: { cloud: 'bench', region: job.sourceRegion }, glance: glance(job.sourceRegion), image },
    fields: fieldsOf(image),
    destinations: [{ target: { cloud: 'bench', region: job.destRegion }, glance: glance(job.destRegion), replaces: [], sameKeystone: job.sameKeystone }],
    signal: AbortSignal.timeout(job.timeoutMs ?? 1_800_000),
    tuning: { claimSettleMs: 1500, pollIntervalMs: 200 },
  });
  const wallMs = performance.now() - started;
  process.stdout.write(
    JSON.stringify({ ok: out.ok, wallMs, imageId: out.imageId, via: out.via, passes: out.passes, sha512: out.sha512, steps: out.steps, error: out.error ? String(out.error.message ?? out.error) : undefined, maxRssKb: process.resourceUsage().maxRSS }) + '\n',
  );
  process.exitCode = out.ok ? 0 : 1;
} finally {
  await conn.close();
}
