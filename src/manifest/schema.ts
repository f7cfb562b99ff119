// The manifest contract (DESIGN.md) as a zod schema: strict objects, so unknown keys are errors.
import * as z from 'zod';

/** Glance stores names in a 255-character column. */
export const IMAGE_NAME_MAX_LENGTH = 255;

// No leading/trailing whitespace, no C0/C1 control characters, 1..255 characters. One pattern
// rather than refinements so the JSON Schema editors see says the same thing.
const IMAGE_NAME_PATTERN =
  /^[^\s\u0000-\u001f\u007f-\u009f](?:[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f])?$/;

/** JSON-quoted, with whitespace other than a plain space escaped: a trailing no-break space is invisible otherwise. */
function visible(name: string): string {
  return JSON.stringify(name).replace(/[^\S ]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function imageNameProblem(input: unknown): string {
  const name = String(input);
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return 'an image name must not contain control characters (tabs, newlines, …)';
  if (name.trim() !== name) return `an image name must not start or end with whitespace: ${visible(name)}`;
  return `not a valid image name: ${JSON.stringify(name)}`;
}

const nonEmpty = (what: string) => z.string().min(1, { error: `${what} must not be empty` });

const ImageName = z
  .string()
  .min(1, { error: 'an image name must not be empty', abort: true })
  .max(IMAGE_NAME_MAX_LENGTH, {
    error: (iss) =>
      // Counted in code points, as zod and Glance count them: an emoji is one character, not two.
      `an image name is at most ${IMAGE_NAME_MAX_LENGTH} characters (Glance's limit), this one has ${[...String(iss.input)].length}`,
  })
  .regex(IMAGE_NAME_PATTERN, { error: (iss) => imageNameProblem(iss.input) })
  .describe('The image name in Glance, identical in every target. 1..255 characters, no control characters, no surrounding whitespace.');

const CloudName = nonEmpty('a cloud name').describe(
  'A cloud: an entry of clouds.yaml, or "envvars" for the OS_* environment variables.',
);
const RegionName = nonEmpty('a region name').describe('A region of the cloud, as its Keystone catalog names it.');

export const TASK_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;

const positiveSeconds = (what: string) => z.int().positive().describe(what);

/** `SHA256:` and 43 base64 characters, as `ssh-keygen -l` prints a fingerprint. */
export const FINGERPRINT_PATTERN = /^SHA256:[A-Za-z0-9+/]{43}=?$/;
/** An OpenSSH public key line: `TYPE BASE64 [comment]` (a `.pub` file, a known_hosts key). */
export const PUBLIC_KEY_LINE_PATTERN = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,2}( .*)?$/;

const HostKeyPin = z
  .string()
  .refine((v) => FINGERPRINT_PATTERN.test(v) || PUBLIC_KEY_LINE_PATTERN.test(v), {
    error: (iss) =>
      `${JSON.stringify(iss.input)} is neither a SHA256 fingerprint ("SHA256:" and 43 characters, as ssh-keygen -lf prints it) nor a public key line ("ssh-ed25519 AAAA…")`,
  })
  .meta({
    anyOf: [
      { type: 'string', pattern: FINGERPRINT_PATTERN.source },
      { type: 'string', pattern: PUBLIC_KEY_LINE_PATTERN.source },
    ],
  })
  .describe('A SHA256 fingerprint ("SHA256:…") or an OpenSSH public key line ("ssh-ed25519 AAAA…") of the bastion\'s host key.');

export const BastionSchema = z
  .strictObject({
    host: nonEmpty('bastion.host').describe('Host name or address of the jump host, as the machine running imagesync reaches it.'),
    port: z.int().min(1).max(65535).optional().describe('Its SSH port (default 22).'),
    user: nonEmpty('bastion.user').describe('The user to log in to the jump host as.'),
    privateKeyFile: nonEmpty('bastion.privateKeyFile')
      .optional()
      .describe(
        'Private key to log in to the jump host with: relative to the manifest\'s directory, or "~/…". Unencrypted, mode 0600. Without it, the keys of ssh-agent ($SSH_AUTH_SOCK).',
      ),
    hostKey: z
      .union([HostKeyPin, z.array(HostKeyPin).min(1, { error: 'hostKey, when a list, needs at least one key' })])
      .optional()
      .describe('Pin the jump host\'s host key (one, or a list: any matches). Without it, knownHosts is checked.'),
    knownHosts: nonEmpty('bastion.knownHosts')
      .optional()
      .describe('known_hosts file that must list the jump host (relative to the manifest\'s directory, or "~/…"); default ~/.ssh/known_hosts.'),
  })
  .refine((b) => b.hostKey === undefined || b.knownHosts === undefined, {
    error: 'give hostKey or knownHosts, not both: a pinned key is the whole check',
    when: (payload) => (payload.issues ?? []).length === 0,
  })
  .meta({
    id: 'Bastion',
    description:
      'A jump host (bastion) the build server is reached through, as ssh -J does: every SSH connection of the build (and its host key check against the console\'s fingerprints) goes over a channel the bastion forwards. Its own host key is always checked: pinned here, or in known_hosts.',
  });

/** An IPv4 or IPv6 network in CIDR notation: "203.0.113.7/32", "2001:db8::/64". */
const CIDR_PATTERN = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}\/(?:3[0-2]|[12]?\d)|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*\/(?:12[0-8]|1[01]\d|[1-9]?\d))$/;

export const SshSettingsSchema = z
  .strictObject({
    user: nonEmpty('ssh.user').optional().describe('Login user of the source image (e.g. "debian", "ubuntu").'),
    port: z.int().min(1).max(65535).optional().describe('SSH port of the build server (default 22).'),
    connectTimeoutSeconds: positiveSeconds('Timeout of one SSH connection attempt, in seconds.').optional(),
    bastion: z
      .union([BastionSchema, z.array(BastionSchema).min(1, { error: 'bastion, when a list, needs at least one jump host' })])
      .optional()
      .describe(
        'One jump host, or a chain of them in order (as ssh -J a,b): the first is reached from the machine running imagesync, each next one through the one before, the build server through the last.',
      ),
    interface: nonEmpty('ssh.interface')
      .optional()
      .describe(
        'Which address of the build server SSH goes to: "fixed" (its address on the first build network), "floating" (the floating IP from floatingIpPool), or the name of one of its networks (e.g. "public", "private"). Default: floating when floatingIpPool is set, else fixed.',
      ),
    ipVersion: z
      .literal([4, 6])
      .optional()
      .describe('IP version of the address SSH goes to: 4 (default) or 6, for dual-stack servers.'),
    openFrom: z
      .union([
        z.literal('runner').describe('The address this machine reaches the build server from (the local source address of the route to it).'),
        z
          .array(
            z.string().regex(CIDR_PATTERN, { error: (iss) => `${JSON.stringify(iss.input)} is not a CIDR such as "203.0.113.7/32" or "2001:db8::/64"` }),
          )
          .min(1)
          .describe('These networks (CIDR).'),
      ])
      .optional()
      .describe(
        'Make a temporary security group that lets SSH in (its port, TCP) from the runner only, or from these CIDRs, and put the build server in it; it is journaled and deleted with the build. Behind NAT, or through ssh.bastion (the server then sees the bastion), "runner" cannot know the address the cloud sees: give the CIDR.',
      ),
  })
  .meta({ id: 'SshSettings', description: 'How to reach the build server over SSH.' });

export const TimeoutsSchema = z
  .strictObject({
    bootSeconds: positiveSeconds('How long the build server may take to become ACTIVE.').optional(),
    sshSeconds: positiveSeconds('How long SSH may take to answer after boot.').optional(),
    snapshotSeconds: positiveSeconds('How long the snapshot may take to become active.').optional(),
    stepSeconds: positiveSeconds('How long one build step may run.').optional(),
    loginGraceSeconds: positiveSeconds(
      "How long SSH may refuse the login user when the console does not show that cloud-init finished (once it has, the first refusal stops the build). Default 60.",
    ).optional(),
  })
  .meta({ id: 'Timeouts', description: 'Deadlines of the build phases, in seconds.' });

export const VolumeSettingsSchema = z
  .strictObject({
    size: z
      .int()
      .positive()
      .optional()
      .describe("Size of the boot volume in GB. Default: the largest of the source image's min_disk, its size (rounded up) and the flavor's disk."),
    type: nonEmpty('volume.type').optional().describe('Cinder volume type (e.g. "ssd"); default: the cloud\'s default type.'),
    deleteOnTermination: z
      .boolean()
      .optional()
      .describe('Whether Nova deletes the volume with the build server (default true). imagesync removes it after a failed build either way; after a published one it stays while the image\'s snapshot needs it.'),
    availabilityZone: nonEmpty('volume.availabilityZone').optional().describe('Cinder availability zone of the volume; default: build.availabilityZone.'),
  })
  .meta({
    id: 'VolumeSettings',
    description:
      'Boot the build server from a Cinder volume made from the source image (block_device_mapping_v2), as clouds on Ceph do and flavors with a 0 GB root disk require. The image is then a snapshot of the volume: Glance holds 0 bytes and points at a Cinder snapshot.',
  });

/** Nova's limit on user data: 65535 bytes once base64-encoded. */
export const USER_DATA_MAX_BASE64 = 65535;

export const UserDataSchema = z
  .union([
    nonEmpty('userData').describe('The user data itself, e.g. "#cloud-config\\nruncmd: [...]" or a "#!/bin/sh" script.'),
    z
      .strictObject({
        file: nonEmpty('userData.file').optional().describe("A file in the repository, relative to the manifest's directory (cloud-config, a script, MIME multi-part)."),
        cloudConfig: z
          .record(z.string(), z.unknown())
          .optional()
          .describe('cloud-config as an object (write_files, runcmd, packages, …): sent as "#cloud-config" YAML.'),
      })
      .refine((u) => (u.file === undefined) !== (u.cloudConfig === undefined), {
        error: 'userData needs exactly one of "file" or "cloudConfig"',
        when: (payload) => (payload.issues ?? []).length === 0,
      }),
  ])
  .meta({
    id: 'UserData',
    description:
      'User data for cloud-init on the build server (Nova user_data): inline text, a file, or cloud-config as an object. It decides what the image holds, so it counts in the recipe hash. At most 65535 bytes once base64-encoded.',
  });

const buildSettingsShape = {
  flavor: nonEmpty('flavor').optional().describe('Nova flavor (name or id) of the build server.'),
  network: nonEmpty('network').optional().describe('Network (name or id) the build server is attached to.'),
  networks: z
    .array(nonEmpty('a network'))
    .min(1)
    .optional()
    .describe('Several networks (names or ids), in this order; replaces "network". The first is the one a floating IP goes to.'),
  ports: z
    .array(nonEmpty('a port'))
    .min(1)
    .optional()
    .describe('Ports made beforehand (names or ids), attached after the networks. Their security groups are their own.'),
  availabilityZone: nonEmpty('availabilityZone').optional().describe('Nova availability zone of the build server (default: the cloud\'s choice).'),
  floatingIpPool: nonEmpty('floatingIpPool')
    .optional()
    .describe('External network to take a floating IP from, when the build network is not reachable directly.'),
  securityGroups: z
    .array(nonEmpty('a security group'))
    .optional()
    .describe('Security groups (names or ids) of the build server; they, or ssh.openFrom, must allow SSH from where imagesync runs.'),
  ssh: SshSettingsSchema.optional(),
  volume: VolumeSettingsSchema.optional(),
  userData: UserDataSchema.optional(),
  configDrive: z.boolean().optional().describe('Ask Nova for a config drive: cloud-init then reads its metadata and user data from a disk, not the metadata service.'),
  timeouts: TimeoutsSchema.optional(),
  concurrency: z.int().positive().optional().describe('How many builds may run at once in one target.'),
};

export const BuildSettingsSchema = z
  .strictObject(buildSettingsShape)
  .meta({ id: 'BuildSettings', description: 'Build settings. Merge order: defaults.build < target build < image build.' });

export const RunStepSchema = z
  .strictObject({
    run: nonEmpty('run').describe('A shell command run on the build server.'),
    sudo: z.boolean().optional().describe('Run it as root through sudo.'),
    warn: z.boolean().optional().describe('A non-zero exit status is reported but does not fail the build.'),
    env: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
          error: (iss) => `${JSON.stringify(iss.input)} is not an environment variable name (letters, digits and "_")`,
        }),
        z.string(),
      )
      .optional()
      .describe('Environment variables for the command.'),
    name: nonEmpty('a step name').optional().describe('A label for progress output.'),
  })
  .meta({ id: 'RunStep', description: 'Run a shell command on the build server.' });

const TaskName = z
  .string()
  .regex(TASK_NAME_PATTERN, {
    error: (iss) =>
      `${JSON.stringify(iss.input)} is not a task name: a file name in tasks/ without its extension (letters, digits, "-", "_"), e.g. "nginx"`,
  })
  .describe('A task in tasks/: "nginx" is tasks/nginx.ts (or .mts, .js, .mjs).');

const TaskArgs = z.record(z.string(), z.unknown()).describe('Arguments passed to the task.');

export const TaskStepSchema = z
  .strictObject({
    task: TaskName,
    args: TaskArgs.optional(),
    name: nonEmpty('a step name').optional().describe('A label for progress output.'),
  })
  .meta({ id: 'TaskStep', description: 'Run a TypeScript task from tasks/ against the build server.' });

export const PutStepSchema = z
  .strictObject({
    put: nonEmpty('put').describe("A local file, relative to the manifest's directory."),
    to: nonEmpty('to').describe('Where to write it on the build server.'),
    sudo: z.boolean().optional().describe('Write it as root (through a temporary file and sudo).'),
    mode: z
      .string()
      .regex(/^[0-7]{3,4}$/, {
        error: (iss) => `mode must be an octal string like "0644", got ${JSON.stringify(iss.input)}`,
      })
      .optional()
      .describe('File mode, octal, e.g. "0644".'),
    name: nonEmpty('a step name').optional().describe('A label for progress output.'),
  })
  .meta({ id: 'PutStep', description: 'Copy a local file to the build server.' });

/** The keys that say which kind a step is; a step has exactly one of them. */
export const STEP_KINDS = ['run', 'task', 'put'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

export const StepSchema = z
  .union([RunStepSchema, TaskStepSchema, PutStepSchema])
  .meta({ id: 'Step', description: 'One build step: exactly one of "run", "task" or "put".' });

/** The built-in generalization's operations, in the order it runs them (README: "Generalize"). */
export const GENERALIZE_OPERATIONS = [
  'machine-id',
  'cloud-init',
  'ssh-host-keys',
  'shell-history',
  'tmp',
  'login-records',
  'dhcp-leases',
  // Last: the key the build logs in with.
  'build-key',
] as const;
export type GeneralizeOperation = (typeof GENERALIZE_OPERATIONS)[number];

export const GeneralizeOptionsSchema = z
  .strictObject({
    keep: z
      .array(z.enum(GENERALIZE_OPERATIONS))
      .optional()
      .describe(`Operations of the built-in generalization to leave out: ${GENERALIZE_OPERATIONS.join(', ')}.`),
    task: TaskName.optional().describe('Run this task from tasks/ instead of the built-in generalization (the build key is still removed after it).'),
    args: TaskArgs.optional(),
  })
  .superRefine((g, ctx) => {
    if (g.task !== undefined && g.keep !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['keep'], message: '"keep" tunes the built-in generalization, which "task" replaces: give one of them' });
    }
    if (g.args !== undefined && g.task === undefined) {
      ctx.addIssue({ code: 'custom', path: ['args'], message: '"args" are passed to a generalize "task": name the task, or leave "args" out' });
    }
  });

export const GeneralizeSchema = z
  .union([z.boolean(), GeneralizeOptionsSchema])
  .meta({
    id: 'Generalize',
    description:
      'The last build step before the snapshot: true (default) runs the built-in generalization, false none, ' +
      '{"keep": [operations]} the built-in one without those, {"task": "name", "args": {…}} your task instead.',
  });

/** How an image gets into each target. */
export const IMAGE_STRATEGIES = ['build', 'copy', 'import'] as const;
export type ImageStrategy = (typeof IMAGE_STRATEGIES)[number];

/** Glance's disk formats. */
export const DISK_FORMATS = ['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop'] as const;

/** Glance's image visibilities (what `visibility` may say). */
export const VISIBILITIES = ['private', 'shared', 'community', 'public'] as const;
export type Visibility = (typeof VISIBILITIES)[number];

/**
 * A Keystone project id as Glance stores a member: Keystone makes 32 hex digits; other backends
 * (LDAP, ids given at creation) other strings of letters, digits, "-" and "_", at most 64 (Keystone's column).
 */
export const PROJECT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const CHECKSUM_PATTERN = /^(sha256:[0-9a-fA-F]{64}|sha512:[0-9a-fA-F]{128})$/;

/** A key of a per-target map: a cloud ("acme") or one of its targets ("acme/RegionOne"). */
export const TARGET_KEY_PATTERN = /^[^/\s]+(\/[^/\s]+)?$/;

const TargetKey = z.string().regex(TARGET_KEY_PATTERN, {
  error: (iss) => `${JSON.stringify(iss.input)} is not a cloud ("acme") or a cloud and region ("acme/RegionOne")`,
});

export const SourceFilterSchema = z
  .strictObject({
    os_distro: nonEmpty('os_distro').optional().describe('Glance property os_distro, e.g. "debian", "ubuntu".'),
    os_version: nonEmpty('os_version').optional().describe('Glance property os_version, e.g. "12", "24.04".'),
    properties: z
      .record(nonEmpty('a property name'), z.string())
      .optional()
      .describe('Other Glance properties the image must carry, with these exact values.'),
    tags: z.array(nonEmpty('a tag')).min(1).optional().describe('Glance tags the image must all carry.'),
    visibility: z.enum(['public', 'private', 'shared', 'community']).optional().describe('The image\'s visibility in Glance.'),
    owner: nonEmpty('owner').optional().describe('The project id that owns the image (e.g. the provider\'s image project).'),
  })
  .refine((f) => Object.values(f).some((v) => v !== undefined), {
    error: 'a filter needs at least one of os_distro, os_version, properties, tags, visibility or owner',
    // An unknown key ("os_distr") says it all; "needs at least one" would only repeat it.
    when: (payload) => (payload.issues ?? []).length === 0,
  })
  .meta({
    id: 'SourceFilter',
    description:
      'Select the source image by its Glance metadata, as Packer\'s source_image_filter does: every criterion must hold. Hidden images are never picked; with several matches, "pick": "newest" takes the newest.',
  });

export const SourceSchema = z
  .strictObject({
    image: z
      .union([
        nonEmpty('source.image').describe('The same name in every target.'),
        z
          .record(TargetKey, nonEmpty('a source image name'))
          .describe('Per cloud ("acme") or per target ("acme/RegionOne", which wins): the name there.'),
      ])
      .optional()
      .describe(
        '"build" and "copy": the image to boot the build server from, in each target: one name for every target, or a map from cloud or cloud/region to the name there (providers name their base images differently).',
      ),
    filter: SourceFilterSchema.optional(),
    pick: z
      .enum(['only', 'newest'])
      .default('only')
      .describe('"only": exactly one active image must match; "newest": take the newest of several.'),
    url: z
      .string()
      .regex(/^https?:\/\/[^\s]+$/, { error: (iss) => `source.url must be an http:// or https:// URL, got ${JSON.stringify(iss.input)}` })
      .optional()
      .describe('"import": where the image file is (http or https), e.g. an upstream cloud image.'),
    checksum: z
      .string()
      .regex(CHECKSUM_PATTERN, {
        error: (iss) => `source.checksum must be "sha256:" followed by 64 hex digits or "sha512:" followed by 128, got ${JSON.stringify(String(iss.input).slice(0, 40))}${String(iss.input).length > 40 ? '…' : ''}`,
      })
      .optional()
      .describe('"import": the checksum of the file at source.url, "sha256:<hex>" or "sha512:<hex>"; the imported bytes must match it.'),
  })
  .describe(
    'Where the image comes from: the image a build starts from ("build", "copy"), found in each target by name, by Glance metadata (filter), or both; or a URL with its checksum ("import").',
  );

export const WantedImageSchema = z
  .strictObject({
    name: ImageName,
    description: z.string().optional().describe('What the image is for (not sent to the cloud).'),
    strategy: z
      .enum(IMAGE_STRATEGIES)
      .default('build')
      .describe(
        '"build" (default): built in every target. "copy": built (or found) in one target, then its bytes copied to every other, sha512-verified. "import": no build; source.url with source.checksum brought into every target.',
      ),
    source: SourceSchema,
    diskFormat: z.enum(DISK_FORMATS).optional().describe('"import": the disk format of the file at source.url (e.g. "qcow2", "raw").'),
    build: z
      .strictObject({
        ...buildSettingsShape,
        steps: z.array(StepSchema).min(1, { error: 'an image needs at least one build step' }).describe('The build steps, in order.'),
        generalize: GeneralizeSchema.optional(),
      })
      .optional()
      .describe('"build" and "copy": build settings for this image (they win over target and defaults) and its steps.'),
    properties: z
      .record(nonEmpty('a property name').max(255), z.string())
      .optional()
      .describe('Glance properties set on the built image.'),
    regions: z
      .array(RegionName)
      .min(1, { error: 'regions, when given, must list at least one region' })
      .optional()
      .describe('Build this image only in these regions (of the targets). Default: every target.'),
    visibility: z
      .enum(VISIBILITIES)
      .optional()
      .describe(
        'Set on publish, and kept so by apply: "private", "shared" (with members), "community" or "public" (Glance lets only admins make an image public by default). Default: left as the cloud makes it (a snapshot or a copy is private).',
      ),
    members: z
      .array(
        z.string().regex(PROJECT_ID_PATTERN, {
          error: (iss) => `a member is a Keystone project id (letters, digits, "-", "_", at most 64), got ${JSON.stringify(String(iss.input).slice(0, 70))}`,
        }),
      )
      .optional()
      .describe(
        'Projects (ids) the image is shared with, exactly these: apply adds the missing and removes the others. Implies "visibility": "shared". Each member accepts the image in its own project (Glance\'s member_status) to see it in its default image list.',
      ),
  })
  .superRefine(checkStrategy)
  .superRefine(checkSharing)
  .describe('One wanted image.');

type WantedImageShape = {
  strategy: ImageStrategy;
  source: { image?: string | Record<string, string> | undefined; filter?: unknown; url?: string | undefined; checksum?: string | undefined };
  diskFormat?: string | undefined;
  build?: unknown;
};

/** What each strategy needs and refuses, each problem at its own JSON path. */
function checkStrategy(img: WantedImageShape, ctx: z.RefinementCtx): void {
  const problem = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const s = img.strategy;
  if (s === 'import') {
    if (img.source.url === undefined) problem(['source', 'url'], 'an image with "strategy": "import" needs source.url, the http(s) URL of the image file');
    if (img.source.checksum === undefined) problem(['source', 'checksum'], 'an image with "strategy": "import" needs source.checksum, "sha256:<hex>" or "sha512:<hex>"');
    if (img.source.image !== undefined) problem(['source', 'image'], 'source.image is for "build" and "copy"; an import brings source.url in');
    if (img.source.filter !== undefined) problem(['source', 'filter'], 'source.filter is for "build" and "copy"; an import brings source.url in');
    if (img.diskFormat === undefined) problem(['diskFormat'], `an image with "strategy": "import" needs diskFormat (${DISK_FORMATS.join(', ')})`);
    if (img.build !== undefined) problem(['build'], 'an import runs no build steps: remove "build", or use "strategy": "copy" to build once and copy');
  } else {
    // A source with neither image nor filter is named by checkSemantics (one message for both keys).
    if (img.source.url !== undefined) problem(['source', 'url'], 'source.url is for "strategy": "import"');
    if (img.source.checksum !== undefined) problem(['source', 'checksum'], 'source.checksum is for "strategy": "import"');
    if (img.diskFormat !== undefined) problem(['diskFormat'], 'diskFormat is for "strategy": "import" (a build\'s image format is the snapshot\'s)');
    if (img.build === undefined) problem(['build'], `an image with "strategy": "${s}" needs "build" with its steps`);
  }
}

/** Members need a shared image (Glance has members only for "shared"); each member once. */
function checkSharing(img: { visibility?: Visibility | undefined; members?: string[] | undefined }, ctx: z.RefinementCtx): void {
  if (img.members === undefined) return;
  if (img.visibility !== undefined && img.visibility !== 'shared') {
    ctx.addIssue({ code: 'custom', path: ['members'], message: `members are for "visibility": "shared" (Glance has members only for shared images), not ${JSON.stringify(img.visibility)}` });
  }
  const seen = new Set<string>();
  img.members.forEach((m, i) => {
    if (seen.has(m)) ctx.addIssue({ code: 'custom', path: ['members', i], message: `member ${JSON.stringify(m)} is listed twice` });
    seen.add(m);
  });
}

export const TargetSpecSchema = z
  .strictObject({
    cloud: CloudName,
    regions: z.array(RegionName).min(1, { error: 'a target needs at least one region' }).describe('Regions of this cloud to keep in sync.'),
    build: BuildSettingsSchema.optional(),
  })
  .describe('One cloud and the regions to keep in sync there.');

export const ManifestSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Path or URL of this JSON Schema, for editors.'),
    defaults: z
      .strictObject({ build: BuildSettingsSchema.optional() })
      .optional()
      .describe('Settings that apply to every target and image unless overridden.'),
    targets: z.array(TargetSpecSchema).min(1, { error: 'the manifest needs at least one target' }).describe('Where the images must exist.'),
    images: z.array(WantedImageSchema).min(1, { error: 'the manifest needs at least one image' }).describe('The wanted images, by name.'),
  })
  .describe('imagesync manifest: the server images wanted in every OpenStack cloud and region.');

export type Manifest = z.output<typeof ManifestSchema>;
export type ManifestInput = z.input<typeof ManifestSchema>;
export type TargetSpec = z.output<typeof TargetSpecSchema>;
export type BuildSettings = z.output<typeof BuildSettingsSchema>;
export type SshSettings = z.output<typeof SshSettingsSchema>;
export type BastionSettings = z.output<typeof BastionSchema>;
/** build.ssh.bastion as written: one jump host, or a chain. */
export type BastionSpec = NonNullable<SshSettings['bastion']>;

/** The jump hosts of build.ssh.bastion, in the order they are passed through. */
export function bastionHops(b: BastionSpec): BastionSettings[] {
  return Array.isArray(b) ? b : [b];
}
export type Timeouts = z.output<typeof TimeoutsSchema>;
export type WantedImage = z.output<typeof WantedImageSchema>;
/** An image imagesync builds somewhere ("build", and "copy" at its origin): a source image and steps. */
export type BuildableImage = WantedImage & { strategy: 'build' | 'copy'; build: NonNullable<WantedImage['build']> };
/** An image brought in from a URL. */
export type ImportedImage = WantedImage & { strategy: 'import'; source: { url: string; checksum: string }; diskFormat: (typeof DISK_FORMATS)[number] };

export function isBuildable(image: WantedImage): image is BuildableImage {
  return image.strategy !== 'import' && (image.source.image !== undefined || image.source.filter !== undefined) && image.build !== undefined;
}

export function isImported(image: WantedImage): image is ImportedImage {
  return image.strategy === 'import' && image.source.url !== undefined && image.source.checksum !== undefined && image.diskFormat !== undefined;
}
export type Step = z.output<typeof StepSchema>;
export type RunStep = z.output<typeof RunStepSchema>;
export type TaskStep = z.output<typeof TaskStepSchema>;
export type PutStep = z.output<typeof PutStepSchema>;
export type Generalize = z.output<typeof GeneralizeSchema>;
export type Source = z.output<typeof SourceSchema>;
export type UserData = z.output<typeof UserDataSchema>;
export type VolumeSettings = z.output<typeof VolumeSettingsSchema>;
export type SourceFilter = z.output<typeof SourceFilterSchema>;

/** Which kind a (validated) step is. */
export function stepKind(step: Step): StepKind {
  if ('run' in step) return 'run';
  if ('task' in step) return 'task';
  return 'put';
}

/** The schema of one kind of step, for diagnosing a step that matched none. */
export const STEP_SCHEMAS = { run: RunStepSchema, task: TaskStepSchema, put: PutStepSchema } as const;
