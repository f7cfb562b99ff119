// What `imagesync init` would do in a repository (pure): each file created, appended to, or left as it is — never overwritten.
import { EXAMPLE_TASK, exampleTaskText, GITIGNORE_LINES, manifestText, motdText, packageJsonText, packageName, tsconfigText } from './templates.js';

export const CI_SYSTEMS = ['github', 'gitlab', 'none'] as const;
export type CiSystem = (typeof CI_SYSTEMS)[number];

/** Where each CI system reads its pipeline. */
export const CI_FILES: Record<Exclude<CiSystem, 'none'>, string> = {
  github: '.github/workflows/imagesync.yml',
  gitlab: '.gitlab-ci.yml',
};

/** The schema file inside an installed imagesync, relative to the repository. */
export const INSTALLED_SCHEMA = 'node_modules/imagesync/schema/images.manifest.schema.json';
/** Where the schema is copied when imagesync is not installed in the repository. */
export const COPIED_SCHEMA = 'schema/images.manifest.schema.json';

export interface RepoState {
  /** Paths relative to the repository that exist (of those init may write). */
  existing: ReadonlySet<string>;
  /** .gitignore's text, when there is one. */
  gitignore: string | undefined;
  /** imagesync is installed in the repository (its schema under node_modules/). */
  installed: boolean;
  /** The repository folder's name (for a new package.json). */
  folder: string;
}

export interface InitInputs {
  /** The manifest's path relative to the repository. */
  manifest: string;
  cloud: string;
  regions: string[];
  ci: CiSystem;
  /** The CI example's text for `ci` (examples/ in the package). */
  ciText: string | undefined;
  /** The JSON Schema's text, for a copy. */
  schemaText: string;
  version: string;
}

export interface InitAction {
  /** Relative to the repository. */
  path: string;
  action: 'create' | 'append' | 'exists' | 'skip';
  /** What is written (the whole file, or the lines appended). */
  content?: string | undefined;
  /** Why it is skipped or what was appended, for people. */
  note?: string | undefined;
}

/** Lines of `wanted` that `.gitignore` does not have yet (a line with or without its trailing slash counts). */
export function missingIgnoreLines(gitignore: string, wanted: readonly string[]): string[] {
  const have = new Set(gitignore.split(/\r?\n/).map((l) => l.trim().replace(/^\//, '').replace(/\/$/, '')));
  return wanted.filter((w) => !have.has(w.replace(/\/$/, '')));
}

export function planInit(state: RepoState, inputs: InitInputs): InitAction[] {
  const out: InitAction[] = [];
  const file = (path: string, content: string) => out.push(state.existing.has(path) ? { path, action: 'exists' } : { path, action: 'create', content });
  const newManifest = !state.existing.has(inputs.manifest);
  const schema = state.installed ? INSTALLED_SCHEMA : COPIED_SCHEMA;
  // $schema is relative to the manifest's folder: the repository's root here.
  file(inputs.manifest, manifestText({ schema: `./${schema}`, cloud: inputs.cloud, regions: inputs.regions }));
  if (!state.installed && newManifest) file(COPIED_SCHEMA, inputs.schemaText);
  // The example task and file belong to the starter manifest: an existing manifest does not use them.
  for (const [path, text] of [[`tasks/${EXAMPLE_TASK}.ts`, exampleTaskText()], ['files/motd', motdText()]] as const) {
    if (newManifest) file(path, text);
    else out.push({ path, action: 'skip', note: `${inputs.manifest} exists; the example it would use is not written` });
  }
  file('tsconfig.json', tsconfigText());
  file('package.json', packageJsonText(packageName(state.folder), inputs.version));
  if (state.gitignore === undefined) out.push({ path: '.gitignore', action: 'create', content: `${GITIGNORE_LINES.join('\n')}\n` });
  else {
    const missing = missingIgnoreLines(state.gitignore, GITIGNORE_LINES);
    if (!missing.length) out.push({ path: '.gitignore', action: 'exists' });
    else {
      const sep = state.gitignore === '' || state.gitignore.endsWith('\n') ? '' : '\n';
      out.push({ path: '.gitignore', action: 'append', content: `${sep}${missing.join('\n')}\n`, note: missing.join(', ') });
    }
  }
  if (inputs.ci !== 'none' && inputs.ciText !== undefined) file(CI_FILES[inputs.ci], inputs.ciText);
  return out;
}
