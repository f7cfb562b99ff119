// Preloaded (`node --import`) into one extra CLI run: timestamps of undici's request events and of exit (with the peak RSS and the CPU time used), written to $BENCH_TRACE_FILE.
// Plain JavaScript on purpose: loading tsx into the measured process would change what is measured.
import dc from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const file = process.env.BENCH_TRACE_FILE;
if (file) {
  // performance.now() counts from the process's time origin, so the first event is node's own start-up.
  const events = [{ type: 'preload', atMs: performance.now() }];
  const ids = new WeakMap();
  let next = 0;
  const on = (channel, type) =>
    dc.subscribe(channel, (msg) => {
      const request = msg.request;
      if (type === 'create') ids.set(request, ++next);
      events.push({
        type,
        atMs: performance.now(),
        id: ids.get(request),
        ...(type === 'create' ? { method: request.method, path: String(request.path).split('?')[0] } : {}),
      });
    });
  // Undici creates a request object only once a connection takes it: a queued request shows up late.
  on('undici:request:create', 'create');
  on('undici:client:sendHeaders', 'send');
  on('undici:request:headers', 'headers');
  on('undici:request:trailers', 'done');
  on('undici:request:error', 'error');
  process.on('exit', () => {
    // Peak resident memory of the whole process (KiB on Linux), its high-water mark at exit.
    const usage = process.resourceUsage();
    events.push({ type: 'exit', atMs: performance.now(), maxRssKiB: usage.maxRSS, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000 });
    writeFileSync(file, JSON.stringify(events));
  });
}
