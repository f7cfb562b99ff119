// Fault layer: latency, random 500/503, one-shot scripted replies; decided before a request is served.
import { DEFAULT_COMPUTE_KNOBS, checkComputeKnobs, type ComputeKnobs } from './compute.js';
import type { InjectHandle, InjectRule, FaultOptions, ServiceKind } from './types.js';

export type FaultAction =
  | { type: 'pass' }
  | { type: 'inject'; rule: InjectRule }
  /** Serve it, then answer with the rule instead. */
  | { type: 'after'; rule: InjectRule }
  | { type: 'reset' }
  | { type: 'error'; status: 500 | 503 };

export interface FaultDecision {
  /** Wait this long before acting. */
  delayMs: number;
  action: FaultAction;
}

interface ActiveRule {
  rule: InjectRule;
  remaining: number;
  hits: number;
}

function checkFaultOptions(o: Partial<FaultOptions>): void {
  if (o.errorRate !== undefined && !(o.errorRate >= 0 && o.errorRate <= 1)) {
    throw new RangeError(`emulator: errorRate must be between 0 and 1, got ${o.errorRate}`);
  }
  if (o.maxErrorsInARow !== undefined && !(Number.isInteger(o.maxErrorsInARow) && o.maxErrorsInARow >= 0)) {
    throw new RangeError(`emulator: maxErrorsInARow must be a whole number, 0 or more, got ${o.maxErrorsInARow}`);
  }
  if (o.latencyMs !== undefined && !(o.latencyMs >= 0)) {
    throw new RangeError(`emulator: latencyMs must be 0 or more, got ${o.latencyMs}`);
  }
  if (o.tokenTtlSeconds !== undefined && !(o.tokenTtlSeconds > 0)) {
    throw new RangeError(`emulator: tokenTtlSeconds must be positive, got ${o.tokenTtlSeconds}`);
  }
  checkComputeKnobs(o);
}

export class FaultLayer {
  private current: FaultOptions;
  private readonly rules: ActiveRule[] = [];
  /** `errorRate` errors in a row per "METHOD target", while maxErrorsInARow bounds them; a served request ends its streak. */
  private readonly streaks = new Map<string, number>();

  /** Compute knobs left out take their defaults. */
  constructor(options: Omit<FaultOptions, keyof ComputeKnobs> & Partial<ComputeKnobs>, private readonly random: () => number) {
    checkFaultOptions(options);
    // maxErrorsInARow present even when unset, so a copy of these options restores "no bound".
    this.current = { ...DEFAULT_COMPUTE_KNOBS, maxErrorsInARow: undefined, ...options, errorServices: [...options.errorServices] };
  }

  get options(): Readonly<FaultOptions> {
    return this.current;
  }

  set(change: Partial<FaultOptions>): void {
    checkFaultOptions(change);
    this.current = { ...this.current, ...change };
  }

  /** Rules are tried in the order added; the first that matches answers. */
  inject(rule: InjectRule): InjectHandle {
    const active: ActiveRule = { rule, remaining: rule.times ?? 1, hits: 0 };
    if (!(active.remaining > 0)) throw new RangeError(`emulator: inject times must be positive, got ${rule.times}`);
    this.rules.push(active);
    const rules = this.rules;
    return {
      get hits() {
        return active.hits;
      },
      get remaining() {
        return active.remaining;
      },
      remove() {
        const i = rules.indexOf(active);
        if (i >= 0) rules.splice(i, 1);
        active.remaining = 0;
      },
    };
  }

  clearInjected(): void {
    this.rules.length = 0;
  }

  /** Decide what happens to one request. `target` is the raw request target (path and query). */
  decide(method: string, target: string, service: ServiceKind | undefined): FaultDecision {
    const latency = this.current.latencyMs;
    for (let i = 0; i < this.rules.length; i++) {
      const active = this.rules[i] as ActiveRule;
      const { rule } = active;
      if (rule.method !== undefined && rule.method.toUpperCase() !== method) continue;
      rule.path.lastIndex = 0;
      if (!rule.path.test(target) || (rule.when !== undefined && !rule.when(target))) continue;
      active.hits++;
      active.remaining--;
      if (active.remaining <= 0) this.rules.splice(i, 1);
      return {
        delayMs: latency + (rule.delayMs ?? 0),
        action: rule.after ? { type: 'after', rule } : rule.reset ? { type: 'reset' } : { type: 'inject', rule },
      };
    }
    const { errorRate: rate, maxErrorsInARow: max } = this.current;
    if (rate > 0 && service !== undefined && this.current.errorServices.includes(service)) {
      const key = `${method} ${target}`;
      const streak = this.streaks.get(key) ?? 0;
      if ((max === undefined || streak < max) && this.random() < rate) {
        if (max !== undefined) this.streaks.set(key, streak + 1);
        return { delayMs: latency, action: { type: 'error', status: this.random() < 0.5 ? 500 : 503 } };
      }
      this.streaks.delete(key);
    }
    return { delayMs: latency, action: { type: 'pass' } };
  }
}

/** Default content type of an injected body: HTML when it looks like markup, else JSON. */
export function injectedContentType(body: string | Uint8Array | undefined): string | undefined {
  if (body === undefined) return undefined;
  const start = (typeof body === 'string' ? body : Buffer.from(body).toString('utf8', 0, 64)).trimStart();
  return start.startsWith('<') ? 'text/html; charset=UTF-8' : 'application/json';
}
