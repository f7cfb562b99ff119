// Every test file runs in exactly one tier: the lists in test/tiers.ts are what vitest.config.ts runs, none overlaps, none is stale.
import { globSync } from 'tinyglobby';
import { describe, expect, it } from 'vitest';
import config from '../vitest.config.js';
import { ALL, E2E, INTEGRATION, REAL } from './tiers.js';

const root = new URL('..', import.meta.url).pathname;
const files = (patterns: string[]) => globSync(patterns, { cwd: root, ignore: ['node_modules/**'] }).sort();

const LISTED = { integration: INTEGRATION, e2e: E2E, real: REAL };

describe('test tiers', () => {
  it('vitest.config.ts runs the lists of test/tiers.ts, and unit is every other file', () => {
    const projects = Object.fromEntries(
      (config.test?.projects ?? []).map((p) => {
        const t = (p as { test: { name: string; include?: string[]; exclude?: string[] } }).test;
        return [t.name, { include: t.include, exclude: t.exclude }];
      }),
    );
    expect(Object.keys(projects).sort()).toEqual(['e2e', 'integration', 'real', 'unit']);
    expect(projects.unit).toEqual({ include: ALL, exclude: [...INTEGRATION, ...E2E, ...REAL, 'node_modules/**'] });
    for (const [name, list] of Object.entries(LISTED)) expect(projects[name]?.include, name).toEqual(list);
  });

  it('no file is in two tiers', () => {
    const seen = new Map<string, string[]>();
    for (const [name, list] of Object.entries(LISTED)) for (const f of files(list)) seen.set(f, [...(seen.get(f) ?? []), name]);
    const twice = [...seen].filter(([, tiers]) => tiers.length > 1).map(([f, tiers]) => `${f}: ${tiers.join(', ')}`);
    expect(twice).toEqual([]);
  });

  it('every listed tier file is a test file, and every entry still names one', () => {
    const all = new Set(files(ALL));
    for (const [name, list] of Object.entries(LISTED)) {
      for (const pattern of list) expect(files([pattern]), `${name}: ${pattern} matches no test file`).not.toEqual([]);
      expect(files(list).filter((f) => !all.has(f)), name).toEqual([]);
    }
  });

  it('no test file sits where no tier looks (another folder, another suffix)', () => {
    const all = new Set(files(ALL));
    const lookalikes = files(['**/*.{test,spec}.{ts,mts,cts,js,mjs,cjs}', '!dist/**']).filter((f) => !all.has(f));
    expect(lookalikes).toEqual([]);
  });
});
