// What `imagesync init` writes (pure): a starter manifest, one example task with typed args, a file it puts, a tsconfig for the tasks, a package.json when there is none.

/** The example task's name (tasks/welcome.ts). */
export const EXAMPLE_TASK = 'welcome';

export interface ManifestTemplate {
  /** `$schema`: into the installed package, or a copy beside the manifest. */
  schema: string;
  cloud: string;
  regions: string[];
}

/**
 * A manifest that validates as it is once the cloud is right: a flavor in `defaults` (a build needs
 * one), no SSH user nor network (taken from the source image and the project, as plan shows).
 */
export function manifestText(t: ManifestTemplate): string {
  const manifest = {
    $schema: t.schema,
    defaults: { build: { flavor: 'm1.small' } },
    targets: [{ cloud: t.cloud, regions: t.regions }],
    images: [
      {
        name: 'debian-12-base',
        description: 'Debian 12 with a welcome banner and a message of the day.',
        source: { image: 'debian-12-genericcloud' },
        build: {
          steps: [
            { task: EXAMPLE_TASK, args: { banner: 'Authorized access only.' } },
            { put: 'files/motd', to: '/etc/motd', sudo: true },
          ],
        },
        properties: { os_distro: 'debian', os_version: '12' },
      },
    ],
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

export function exampleTaskText(): string {
  return `// Task "${EXAMPLE_TASK}": an example. \`imagesync tasks\` lists it; \`imagesync validate\` checks every step's args against its schema.
import { defineTask, shQuote, z } from 'imagesync/task';

export default defineTask({
  name: '${EXAMPLE_TASK}',
  description: 'Write a login banner (/etc/issue.net) and install extra packages',
  args: z.strictObject({
    banner: z.string().min(1).describe('the text shown before login'),
    packages: z.array(z.string().regex(/^[a-z0-9][a-z0-9+.-]*$/)).default([]).describe('Debian packages to install'),
  }),
  async run(c, { banner, packages }) {
    if (packages.length) {
      await c.sudo(\`apt-get install -y --no-install-recommends \${packages.map(shQuote).join(' ')}\`, { env: { DEBIAN_FRONTEND: 'noninteractive' } });
    }
    await c.put(new TextEncoder().encode(\`\${banner}\\n\`), '/etc/issue.net', { sudo: true, mode: '0644' });
    c.log(\`${EXAMPLE_TASK}: banner written for \${c.image.name} in \${c.target.cloud}/\${c.target.region}\`);
  },
});
`;
}

export function motdText(): string {
  return 'This server runs an image built by imagesync from images.manifest.json.\n';
}

/**
 * Type-checks tasks/ with `npx tsc` (nothing emitted: imagesync loads .ts itself). "preserve" and
 * "bundler" resolve `imagesync/task` as imagesync does, whether or not package.json says "type": "module".
 */
export function tsconfigText(): string {
  const config = {
    compilerOptions: {
      target: 'ES2022',
      lib: ['ES2023'],
      module: 'preserve',
      moduleResolution: 'bundler',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      isolatedModules: true,
    },
    include: ['tasks'],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** A package.json for a repository that has none: imagesync and typescript as dev dependencies, the usual commands as scripts. */
export function packageJsonText(name: string, version: string): string {
  const pkg = {
    name,
    private: true,
    type: 'module',
    scripts: {
      validate: 'imagesync validate',
      plan: 'imagesync plan',
      apply: 'imagesync apply',
      typecheck: 'tsc --noEmit',
    },
    devDependencies: { imagesync: `^${version}`, typescript: '^5.9.3' },
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

/** A package name npm accepts, from a folder name. */
export function packageName(folder: string): string {
  const name = folder.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+|[._-]+$/g, '');
  return name || 'images';
}

/** Lines `.gitignore` needs: imagesync's run state (journals, logs, kept keys) and the installed packages. */
export const GITIGNORE_LINES = ['.imagesync/', 'node_modules/'];
