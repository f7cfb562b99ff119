// Scenario 5: replicating a 2 GiB image between the real tier's two Glance regions: throughput against curl piping the same image, and imagesync's peak RSS.
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { BenchError, round1, round2, sample, tail, timeCommand, type CommandSpec, type Sample } from './measure.js';
import { readCredentials, session, withBenchTier } from './real-tier.js';

export const REPLICATE_SETTINGS = {
  /** The image: random bytes, so nothing on the way can compress it. BENCH_REPLICATE_MIB overrides. */
  sizeMiB: 2048,
  /** Copies per side, interleaved (each moves the whole image). */
  runs: 3,
  /** imagesync's throughput over curl's. */
  targetRatio: 0.9,
  /** Peak RSS of the imagesync process. */
  targetRssMB: 150,
  source: 'RegionOne',
  destination: 'RegionTwo',
} as const;

export interface ReplicateBenchResult {
  settings: Omit<typeof REPLICATE_SETTINGS, 'sizeMiB'> & { sizeMiB: number; sizeBytes: number };
  tierStartMs: number;
  seedMs: number;
  /** `curl GET | curl PUT -T -`, the destination record created beforehand (not timed). */
  curl: Sample & { mbPerSecond: number };
  /** The whole `replicate()` process: start-up, claim, temporary image, stream (the claim's 1.5 s settle overlapping it), verify, publish. */
  imagesync: Sample & { mbPerSecond: number; peakRssMB: number; rssRunsMB: number[] };
  /** Of it, the step 'transfer the data' alone (one download streamed into the upload). */
  imagesyncTransfer: Sample & { mbPerSecond: number };
  ratio: number;
  meetsThroughput: boolean;
  meetsRss: boolean;
  /** For comparison: the destination's Glance fetching it by itself (glance-download), one run. */
  glanceDownload: { wallMs: number; mbPerSecond: number; peakRssMB: number };
}

/** `size` random bytes in 1 MiB chunks, generated as they are read (no file, no 2 GiB buffer). */
function randomStream(size: number, hash: ReturnType<typeof createHash>): Readable {
  let left = size;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const chunk = randomBytes(Math.min(left, 1024 * 1024));
      left -= chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
}

async function glanceCall(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, token: string, body?: unknown, expect: number[] = [200]): Promise<unknown> {
  const isStream = body instanceof Readable;
  const res = await request(url, {
    method,
    headers: {
      'x-auth-token': token,
      accept: 'application/json',
      ...(body !== undefined ? { 'content-type': isStream ? 'application/octet-stream' : 'application/json' } : {}),
    },
    body: body === undefined ? undefined : isStream ? body : JSON.stringify(body),
    headersTimeout: 600_000,
    bodyTimeout: 600_000,
  });
  const text = await res.body.text();
  if (!expect.includes(res.statusCode)) throw new BenchError(`${method} ${url} → ${res.statusCode}: ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : undefined;
}

interface ChildReport {
  ok: boolean;
  wallMs: number;
  steps?: Array<{ name: string; durationMs: number }>;
  sha512?: string;
  via?: string;
  imageId?: string;
  error?: string;
  maxRssKb: number;
}

export async function runReplicateScenario(opts: { root: string; log: (line: string) => void }): Promise<ReplicateBenchResult> {
  const s = REPLICATE_SETTINGS;
  const sizeMiB = Number(process.env.BENCH_REPLICATE_MIB) || s.sizeMiB;
  const sizeBytes = sizeMiB * 1024 * 1024;
  const mbps = (ms: number) => round1(sizeBytes / 1e6 / (ms / 1000));
  return withBenchTier(opts.root, opts.log, 'replicate', async ({ tierStartMs, cloudsYaml }) => {
    const creds = await readCredentials(cloudsYaml);
    const { token, glance } = await session(creds);
    const src = glance.get(s.source)!;
    const dst = glance.get(s.destination)!;
    const seedStarted = performance.now();
    const image = (await glanceCall('POST', `${src}/images`, token, { name: 'bench-replicate-source', disk_format: 'raw', container_format: 'bare' }, [201])) as { id: string };
    const hash = createHash('sha512');
    await glanceCall('PUT', `${src}/images/${image.id}/file`, token, randomStream(sizeBytes, hash), [204]);
    const sha512 = hash.digest('hex');
    const seedMs = round1(performance.now() - seedStarted);
    opts.log(`replicate: seeded a ${sizeMiB} MiB image in ${s.source} in ${seedMs} ms`);
    const checkCopy = async (id: string, who: string) => {
      const img = (await glanceCall('GET', `${dst}/images/${id}`, token)) as { status: string; size: number; os_hash_value: string };
      if (img.status !== 'active' || img.size !== sizeBytes || img.os_hash_value !== sha512) {
        throw new BenchError(`${who}: the copy ${id} is ${img.status}, ${img.size} bytes, sha512 ${String(img.os_hash_value).slice(0, 16)}…: not the source`);
      }
      await glanceCall('DELETE', `${dst}/images/${id}`, token, undefined, [204]);
    };

    const password = (creds.body as { auth: { identity: { password: { user: { password: string } } } } }).auth.identity.password.user.password;
    const childSpec = (name: string, sameKeystone: boolean): CommandSpec => ({
      command: process.execPath,
      args: [join(opts.root, 'bench', 'replicate-child.mjs')],
      env: {
        PATH: process.env.PATH,
        IMAGESYNC_BENCH_JOB: JSON.stringify({
          authUrl: creds.authUrl,
          username: 'admin',
          password,
          project: 'admin',
          glance: { [s.source]: src.replace(/\/v2$/, ''), [s.destination]: dst.replace(/\/v2$/, '') },
          sourceRegion: s.source,
          destRegion: s.destination,
          sourceId: image.id,
          name,
          runId: `${new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}-${randomBytes(2).toString('hex')}`,
          sameKeystone,
        }),
      },
      cwd: opts.root,
      timeoutMs: 30 * 60_000,
      label: `bench/replicate-child.mjs (${name})`,
    });
    const ours = async (name: string, sameKeystone: boolean): Promise<{ wallMs: number; rssMB: number; transferMs: number }> => {
      const run = await timeCommand(childSpec(name, sameKeystone));
      const line = run.stdout.trim().split('\n').at(-1) ?? '';
      let report: ChildReport;
      try {
        report = JSON.parse(line) as ChildReport;
      } catch {
        throw new BenchError(`bench/replicate-child.mjs printed no report (exit ${run.exitCode}): ${tail(run.stderr)}`);
      }
      if (!report.ok || !report.imageId) throw new BenchError(`imagesync's copy failed: ${report.error ?? tail(run.stderr)}`);
      if (report.sha512 !== sha512) throw new BenchError(`imagesync's copy reports sha512 ${report.sha512?.slice(0, 16)}…, not the source's`);
      await checkCopy(report.imageId, 'imagesync');
      const transferMs = report.steps?.find((st) => st.name === 'transfer the data')?.durationMs;
      if (transferMs === undefined) throw new BenchError('bench/replicate-child.mjs reported no "transfer the data" step');
      return { wallMs: run.wallMs, rssMB: round1(report.maxRssKb / 1024), transferMs };
    };
    const curl = async (n: number): Promise<number> => {
      const target = (await glanceCall('POST', `${dst}/images`, token, { name: `bench-curl-${n}`, disk_format: 'raw', container_format: 'bare' }, [201])) as { id: string };
      const run = await timeCommand({
        command: 'bash',
        args: ['-c', 'set -o pipefail; curl -sS -f -H "X-Auth-Token: $T" "$SRC" | curl -sS -f -X PUT -H "X-Auth-Token: $T" -H "Content-Type: application/octet-stream" -T - "$DST"'],
        // The token travels in the environment, never on a command line `ps` shows.
        env: { PATH: '/usr/bin:/bin', T: token, SRC: `${src}/images/${image.id}/file`, DST: `${dst}/images/${target.id}/file` },
        cwd: opts.root,
        timeoutMs: 30 * 60_000,
        label: 'curl | curl',
      });
      if (run.exitCode !== 0) throw new BenchError(`curl | curl: exit ${run.exitCode}: ${tail(run.stderr)}`);
      await checkCopy(target.id, 'curl');
      return run.wallMs;
    };

    const curlMs: number[] = [];
    const oursMs: number[] = [];
    const rss: number[] = [];
    const transferMs: number[] = [];
    // Interleaved, so that other load on the machine hits both sides alike.
    for (let i = 0; i < s.runs; i++) {
      curlMs.push(await curl(i));
      const o = await ours(`bench-copy-${i}`, false);
      oursMs.push(o.wallMs);
      rss.push(o.rssMB);
      transferMs.push(o.transferMs);
      opts.log(`replicate: run ${i + 1}/${s.runs}: curl ${Math.round(curlMs.at(-1)!)} ms, imagesync ${Math.round(o.wallMs)} ms of which the transfer ${Math.round(o.transferMs)} ms (peak RSS ${o.rssMB} MB)`);
    }
    const gd = await ours('bench-glance-download', true);
    opts.log(`replicate: glance-download ${Math.round(gd.wallMs)} ms`);
    const curlSample = sample(curlMs);
    const oursSample = sample(oursMs);
    const peakRssMB = Math.max(...rss);
    const ratio = round2(curlSample.medianMs / oursSample.medianMs);
    return {
      settings: { ...s, sizeMiB, sizeBytes },
      tierStartMs,
      seedMs,
      curl: { ...curlSample, mbPerSecond: mbps(curlSample.medianMs) },
      imagesync: { ...oursSample, mbPerSecond: mbps(oursSample.medianMs), peakRssMB, rssRunsMB: rss },
      imagesyncTransfer: { ...sample(transferMs), mbPerSecond: mbps(sample(transferMs).medianMs) },
      ratio,
      meetsThroughput: ratio >= s.targetRatio,
      meetsRss: peakRssMB <= s.targetRssMB,
      glanceDownload: { wallMs: round1(gd.wallMs), mbPerSecond: mbps(gd.wallMs), peakRssMB: gd.rssMB },
    };
  });
}
