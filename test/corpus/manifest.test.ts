// Bad-input corpus, manifests: every broken manifest is exit 3 with one headline naming the JSON path or line:column, and nothing is contacted.
import { readFileSync } from 'node:fs';
import { chmod, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_MANIFEST_BYTES } from '../../src/manifest/load.js';
import { generateUsableKeyPair } from '../../src/build/steps/keypair.js';
import { useEmulator } from '../helpers/emulator.js';
import { expectInputError, image, manifestWith, runUntouched, useCorpus } from './fixture.js';

const emulator = useEmulator();
const c = useCorpus(emulator);

const M = 'images\\.manifest\\.json';
// A key ssh2 can read back, so the bastion cases fail on what they are about.
const KEY = generateUsableKeyPair('imagesync-corpus').private;
/** Bytes this process has read with read(2) and the like, from /proc/self/io (Linux). */
function bytesRead(): number {
  const m = /^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
  if (!m) throw new Error('/proc/self/io has no rchar line');
  return Number(m[1]);
}
const headline = (rest: string) => new RegExp(`^imagesync: ${M}: ${rest}$`);

interface BadCase {
  name: string;
  manifest: unknown;
  /** The headline after "imagesync: images.manifest.json" (a regexp source). */
  headline: RegExp;
  details?: RegExp[];
}

/** An image whose build.generalize is `value`. */
function generalizing(value: unknown): Record<string, unknown> {
  return image({ build: { steps: [{ run: 'true' }], generalize: value } });
}

const bad: BadCase[] = [
  {
    name: 'targets is a string instead of a list',
    manifest: { ...manifestWith(), targets: 'emulator' },
    headline: headline('targets: expected an array of objects, got string'),
  },
  {
    name: 'a region is a number (depth 3)',
    manifest: { ...manifestWith(), targets: [{ cloud: 'emulator', regions: [1] }] },
    headline: headline('targets\\[0\\]\\.regions\\[0\\]: expected a string, got 1'),
  },
  {
    name: 'ssh.port is a string (depth 5)',
    manifest: { ...manifestWith(), targets: [{ cloud: 'emulator', regions: ['RegionOne'], build: { ssh: { port: '22' } } }] },
    headline: headline('targets\\[0\\]\\.build\\.ssh\\.port: expected an integer, got string'),
  },
  {
    name: 'a step\'s sudo is "yes" (depth 5, inside a union)',
    manifest: manifestWith([image({ steps: [{ run: 'true', sudo: 'yes' }] })]),
    headline: headline('images\\[0\\]\\.build\\.steps\\[0\\]\\.sudo: expected true or false, got string'),
  },
  {
    name: 'timeouts.bootSeconds is negative',
    manifest: { ...manifestWith(), defaults: { build: { timeouts: { bootSeconds: -5 } } } },
    headline: headline('defaults\\.build\\.timeouts\\.bootSeconds: must be greater than 0, got -5'),
  },
  {
    name: 'a misspelt top-level key gets a suggestion',
    manifest: { targets: manifestWith().targets, imagse: [image()] },
    headline: headline('2 problems'),
    details: [/^ {2}missing key "images" \(an array of objects\)$/, /^ {2}unknown key "imagse" — did you mean "images"\?$/],
  },
  {
    name: 'a misspelt step kind ("rn") gets a suggestion',
    manifest: manifestWith([image({ steps: [{ rn: 'apt-get update' }] })]),
    headline: headline('images\\[0\\]\\.build\\.steps\\[0\\]: unknown key "rn" — did you mean "run"\\?'),
  },
  {
    name: 'a misspelt build setting ("flavour") gets a suggestion',
    manifest: { ...manifestWith(), targets: [{ cloud: 'emulator', regions: ['RegionOne'], build: { flavour: 'm1.small' } }] },
    headline: headline('targets\\[0\\]\\.build: unknown key "flavour" — did you mean "flavor"\\?'),
  },
  { name: 'empty targets', manifest: { ...manifestWith(), targets: [] }, headline: headline('targets: the manifest needs at least one target') },
  { name: 'empty images', manifest: { ...manifestWith(), images: [] }, headline: headline('images: the manifest needs at least one image') },
  {
    name: 'empty steps',
    manifest: manifestWith([image({ steps: [] })]),
    headline: headline('images\\[0\\]\\.build\\.steps: an image needs at least one build step'),
  },
  {
    name: 'a target with no regions',
    manifest: { ...manifestWith(), targets: [{ cloud: 'emulator', regions: [] }] },
    headline: headline('targets\\[0\\]\\.regions: a target needs at least one region'),
  },
  {
    name: 'an image with an empty regions list',
    manifest: manifestWith([image({ regions: [] })]),
    headline: headline('images\\[0\\]\\.regions: regions, when given, must list at least one region'),
  },
  {
    name: 'a 256-character image name (Glance keeps 255)',
    manifest: manifestWith([image({ name: 'a'.repeat(256) })]),
    headline: headline("images\\[0\\]\\.name: an image name is at most 255 characters \\(Glance's limit\\), this one has 256"),
  },
  {
    name: 'a 256-character name of emoji counts characters, not UTF-16 units',
    manifest: manifestWith([image({ name: '😀'.repeat(256) })]),
    headline: headline("images\\[0\\]\\.name: an image name is at most 255 characters \\(Glance's limit\\), this one has 256"),
  },
  {
    name: 'an image name with a tab (control character)',
    manifest: manifestWith([image({ name: 'corpus\tweb' })]),
    headline: headline('images\\[0\\]\\.name: an image name must not contain control characters \\(tabs, newlines, …\\)'),
  },
  {
    name: 'an image name with a leading space',
    manifest: manifestWith([image({ name: ' corpus-web' })]),
    headline: headline('images\\[0\\]\\.name: an image name must not start or end with whitespace: " corpus-web"'),
  },
  {
    name: 'an image name with a trailing space',
    manifest: manifestWith([image({ name: 'corpus-web ' })]),
    headline: headline('images\\[0\\]\\.name: an image name must not start or end with whitespace: "corpus-web "'),
  },
  {
    name: 'an image name ending in an invisible no-break space shows it escaped',
    manifest: manifestWith([image({ name: 'corpus-web\u00a0' })]),
    headline: headline('images\\[0\\]\\.name: an image name must not start or end with whitespace: "corpus-web\\\\u00a0"'),
  },
  {
    name: 'two images with exactly the same name',
    manifest: manifestWith([image({ name: 'corpus-web' }), image({ name: 'corpus-web' })]),
    headline: headline('images\\[1\\]\\.name: "corpus-web" is already used by images\\[0\\]; image names must be unique'),
  },
  {
    name: 'a put source outside the repository (../secret)',
    manifest: manifestWith([image({ steps: [{ put: '../secret', to: '/etc/secret' }] })]),
    headline: headline('images\\[0\\]\\.build\\.steps\\[0\\]\\.put: "\\.\\./secret" is outside the repository \\(/\\S+\\); put only copies files kept next to the manifest'),
  },
  {
    name: 'an absolute put source',
    manifest: manifestWith([image({ steps: [{ put: '/etc/passwd', to: '/etc/passwd' }] })]),
    headline: headline('images\\[0\\]\\.build\\.steps\\[0\\]\\.put: "/etc/passwd" is an absolute path; give a path relative to the manifest\'s directory'),
  },
  {
    name: 'a task name with a slash',
    manifest: manifestWith([image({ steps: [{ task: '../nginx' }] })]),
    headline: headline('images\\[0\\]\\.build\\.steps\\[0\\]\\.task: "\\.\\./nginx" is not a task name: a file name in tasks/ without its extension .*'),
  },
  {
    name: 'a task that does not exist gets a suggestion',
    manifest: manifestWith([image({ steps: [{ task: 'ngnix' }] })]),
    headline: headline('images\\[0\\]\\.build\\.steps\\[0\\]\\.task: task "ngnix" not found in tasks/ — did you mean "nginx"\\? \\(tasks there: nginx\\)'),
  },
  {
    name: 'an unknown strategy',
    manifest: manifestWith([image({ strategy: 'clone' })]),
    headline: headline('images\\[0\\]\\.strategy: .*"build".*"copy".*"import".*'),
  },
  {
    name: 'an import without source.url, source.checksum and diskFormat',
    manifest: manifestWith([{ name: 'corpus-up', strategy: 'import', source: {} }]),
    headline: headline('3 problems'),
    details: [
      /^ {2}images\[0\]\.source\.url: an image with "strategy": "import" needs source\.url, the http\(s\) URL of the image file$/,
      /^ {2}images\[0\]\.source\.checksum: an image with "strategy": "import" needs source\.checksum, "sha256:<hex>" or "sha512:<hex>"$/,
      /^ {2}images\[0\]\.diskFormat: an image with "strategy": "import" needs diskFormat \(.*qcow2.*\)$/,
    ],
  },
  {
    name: 'an import checksum that is md5',
    manifest: manifestWith([{ name: 'corpus-up', strategy: 'import', diskFormat: 'qcow2', source: { url: 'https://example.com/x.qcow2', checksum: `md5:${'a'.repeat(32)}` } }]),
    headline: headline('images\\[0\\]\\.source\\.checksum: source\\.checksum must be "sha256:" followed by 64 hex digits or "sha512:" followed by 128, got "md5:a{32}"'),
  },
  {
    name: 'an import checksum one hex digit short',
    manifest: manifestWith([{ name: 'corpus-up', strategy: 'import', diskFormat: 'qcow2', source: { url: 'https://example.com/x.qcow2', checksum: `sha256:${'a'.repeat(63)}` } }]),
    headline: headline('images\\[0\\]\\.source\\.checksum: source\\.checksum must be "sha256:" followed by 64 hex digits or "sha512:" followed by 128, got "sha256:a{33}"…'),
  },
  {
    name: 'an import from an ftp:// URL',
    manifest: manifestWith([{ name: 'corpus-up', strategy: 'import', diskFormat: 'qcow2', source: { url: 'ftp://example.com/x.qcow2', checksum: `sha256:${'a'.repeat(64)}` } }]),
    headline: headline('images\\[0\\]\\.source\\.url: source\\.url must be an http:// or https:// URL, got "ftp://example\\.com/x\\.qcow2"'),
  },
  {
    name: 'an import with build steps',
    manifest: manifestWith([{ name: 'corpus-up', strategy: 'import', diskFormat: 'raw', source: { url: 'https://example.com/x.img', checksum: `sha512:${'b'.repeat(128)}` }, build: { steps: [{ run: 'true' }] } }]),
    headline: headline('images\\[0\\]\\.build: an import runs no build steps: remove "build", or use "strategy": "copy" to build once and copy'),
  },
  {
    name: 'a copy whose targets give it different user data (it is built once, and copied)',
    manifest: {
      targets: [
        { cloud: 'emulator', regions: ['RegionOne'], build: { flavor: 'm1.small', network: 'private', ssh: { user: 'debian' }, userData: { cloudConfig: { timezone: 'UTC' } } } },
        { cloud: 'emulator', regions: ['RegionTwo'], build: { flavor: 'm1.small', network: 'private', ssh: { user: 'debian' } } },
      ],
      images: [image({ strategy: 'copy' })],
    },
    headline: headline(
      'images\\[0\\]\\.build\\.userData: a copy is built once and copied, so its user data must be the same in every target, but the targets give different user data \\(one in emulator/RegionOne; none in emulator/RegionTwo\\): set build\\.userData on the image, or use "strategy": "build"',
    ),
  },
  {
    name: 'a copy with neither source.image nor source.filter',
    manifest: manifestWith([{ name: 'corpus-web', strategy: 'copy', source: {}, build: { steps: [{ run: 'true' }] } }]),
    headline: headline('images\\[0\\]\\.source: a source needs "image" \\(a name, or a map from cloud or cloud/region to a name\\), "filter", or both'),
  },
  {
    name: 'an import with a source filter',
    manifest: manifestWith([{ name: 'corpus-web', strategy: 'import', diskFormat: 'qcow2', source: { url: 'https://example.org/d.qcow2', checksum: `sha256:${'a'.repeat(64)}`, filter: { os_distro: 'debian' } } }]),
    headline: headline('images\\[0\\]\\.source\\.filter: source\\.filter is for "build" and "copy"; an import brings source\\.url in'),
  },
  {
    name: 'a build with a checksum (an import\'s key)',
    manifest: manifestWith([{ ...image(), source: { image: 'debian-12', checksum: `sha256:${'a'.repeat(64)}` } }]),
    headline: headline('images\\[0\\]\\.source\\.checksum: source\\.checksum is for "strategy": "import"'),
  },
  {
    name: 'an unknown disk format',
    manifest: manifestWith([{ name: 'corpus-up', strategy: 'import', diskFormat: 'qcow3', source: { url: 'https://example.com/x.img', checksum: `sha256:${'a'.repeat(64)}` } }]),
    headline: headline('images\\[0\\]\\.diskFormat: .*"qcow2".*'),
  },
  {
    name: 'a JSON comment is a syntax error at its line:column, saying JSON has no comments',
    manifest: `{\n  "targets": [{ "cloud": "emulator", "regions": ["RegionOne"] }],\n  // the web image\n  "images": []\n}\n`,
    headline: new RegExp(`^imagesync: ${M}:3:3: JSON has no comments; remove the // or /\\* \\*/ comment`),
  },
  {
    name: 'a trailing comma is a syntax error at its line:column',
    manifest: `{\n  "targets": [\n    { "cloud": "emulator", "regions": ["RegionOne"] },\n  ]\n}\n`,
    headline: new RegExp(`^imagesync: ${M}:4:3: Unexpected token '\\]'$`),
  },
  {
    name: 'a key given twice names both places',
    manifest: `{"targets": [{"cloud": "emulator", "regions": ["RegionOne"]}],\n "images": [], "images": ${JSON.stringify([image()])}}`,
    headline: headline('key "images" is given twice \\(2:2 and 2:16\\); JSON keeps only the last, remove one'),
  },
  { name: 'the manifest is null', manifest: 'null', headline: headline('expected an object, got null') },
  {
    name: 'a bastion without host',
    manifest: withBastion({ user: 'jump' }),
    headline: headline('targets\\[0\\]\\.build\\.ssh\\.bastion: missing key "host" \\(a string\\)'),
  },
  {
    name: 'a bastion port out of range',
    manifest: withBastion({ host: 'bastion.example.com', user: 'jump', port: 70000 }),
    headline: headline('targets\\[0\\]\\.build\\.ssh\\.bastion\\.port: must be at most 65535, got 70000'),
  },
  {
    name: 'a bastion hostKey that is an MD5 fingerprint',
    manifest: withBastion({ host: 'bastion.example.com', user: 'jump', hostKey: 'MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48' }),
    headline: headline(
      'targets\\[0\\]\\.build\\.ssh\\.bastion\\.hostKey: "MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48" is neither a SHA256 fingerprint \\("SHA256:" and 43 characters, as ssh-keygen -lf prints it\\) nor a public key line \\("ssh-ed25519 AAAA…"\\)',
    ),
  },
  {
    name: 'a bastion with both hostKey and knownHosts',
    manifest: withBastion({ host: 'bastion.example.com', user: 'jump', hostKey: `SHA256:${'a'.repeat(43)}`, knownHosts: 'known_hosts' }),
    headline: headline('targets\\[0\\]\\.build\\.ssh\\.bastion: give hostKey or knownHosts, not both: a pinned key is the whole check'),
  },
  {
    name: 'a bastion chain that is an empty list',
    manifest: withBastion([] as unknown as Record<string, unknown>),
    headline: headline('targets\\[0\\]\\.build\\.ssh\\.bastion: bastion, when a list, needs at least one jump host'),
  },
  {
    name: 'the second hop of a bastion chain without user',
    manifest: withBastion([{ host: 'bastion.example.com', user: 'jump' }, { host: '10.0.0.5' }] as unknown as Record<string, unknown>),
    headline: headline('targets\\[0\\]\\.build\\.ssh\\.bastion\\[1\\]: missing key "user" \\(a string\\)'),
  },
  {
    name: 'a bastion key named as Packer spells it',
    manifest: withBastion({ host: 'bastion.example.com', user: 'jump', privateKey: 'keys/bastion' }),
    headline: headline('targets\\[0\\]\\.build\\.ssh\\.bastion: unknown key "privateKey" — did you mean "privateKeyFile"\\?'),
  },
  {
    name: 'build.generalize is "yes"',
    manifest: manifestWith([generalizing('yes')]),
    headline: headline('images\\[0\\]\\.build\\.generalize: expected true or false or an object, got string'),
  },
  {
    name: 'build.generalize.keep names an operation that does not exist, with a suggestion',
    manifest: manifestWith([generalizing({ keep: ['tpm'] })]),
    headline: headline('images\\[0\\]\\.build\\.generalize\\.keep\\[0\\]: expected "machine-id", .*"tmp".*, got "tpm" — did you mean "tmp"\\?'),
  },
  {
    name: 'a misspelt build.generalize key ("taks") gets a suggestion',
    manifest: manifestWith([generalizing({ taks: 'my-generalize' })]),
    headline: headline('images\\[0\\]\\.build\\.generalize: unknown key "taks" — did you mean "task"\\?'),
  },
  {
    name: 'build.generalize with both a task and keep',
    manifest: manifestWith([generalizing({ task: 'nginx', keep: ['tmp'] })]),
    headline: headline('images\\[0\\]\\.build\\.generalize\\.keep: "keep" tunes the built-in generalization, which "task" replaces: give one of them'),
  },
  {
    name: 'build.generalize args without a task',
    manifest: manifestWith([generalizing({ args: { deep: true } })]),
    headline: headline('images\\[0\\]\\.build\\.generalize\\.args: "args" are passed to a generalize "task": name the task, or leave "args" out'),
  },
  {
    name: 'a build.generalize task that does not exist gets a suggestion',
    manifest: manifestWith([generalizing({ task: 'ngnix' })]),
    headline: headline('images\\[0\\]\\.build\\.generalize\\.task: task "ngnix" not found in tasks/ — did you mean "nginx"\\? \\(tasks there: nginx\\)'),
  },
  {
    name: 'build.generalize is set on a target (it belongs to an image: it is part of its recipe)',
    manifest: { ...manifestWith(), targets: [{ cloud: 'emulator', regions: ['RegionOne'], build: { generalize: false } }] },
    headline: headline('targets\\[0\\]\\.build: unknown key "generalize"'),
  },
  {
    name: 'timeouts.loginGraceSeconds is 0',
    manifest: { ...manifestWith(), defaults: { build: { timeouts: { loginGraceSeconds: 0 } } } },
    headline: headline('defaults\\.build\\.timeouts\\.loginGraceSeconds: must be greater than 0, got 0'),
  },
  // Base images found per provider (source.image per cloud, source.filter).
  {
    name: 'source.image is a number',
    manifest: manifestWith([image({ source: { image: 12 } })]),
    headline: headline('images\\[0\\]\\.source\\.image: expected a string or an object, got 12'),
  },
  {
    name: 'source.image per cloud names a cloud that is no target, with a suggestion',
    manifest: manifestWith([image({ source: { image: { emulatr: 'debian' }, filter: { os_distro: 'debian' } } })]),
    headline: headline('images\\[0\\]\\.source\\.image\\.emulatr: "emulatr" is not a cloud or a cloud/region of the targets — did you mean "emulator"\\? \\(clouds: emulator\\)'),
  },
  {
    name: 'source.image per cloud leaves a target without a source (and no filter)',
    manifest: manifestWith([image({ source: { image: { 'emulator/RegionOne': 'debian' } } })], ['RegionOne', 'RegionTwo']),
    headline: headline('images\\[0\\]\\.source\\.image: no source image for emulator/RegionTwo: add its cloud or cloud/region to the map, or give a "filter" for the others'),
  },
  {
    name: 'source.image per cloud with a key that is not cloud or cloud/region',
    manifest: manifestWith([image({ source: { image: { 'a/b/c': 'debian' } } })]),
    headline: headline('images\\[0\\]\\.source\\.image: "a/b/c" is not a cloud \\("acme"\\) or a cloud and region \\("acme/RegionOne"\\)'),
  },
  {
    name: 'a misspelt source.filter key gets a suggestion',
    manifest: manifestWith([image({ source: { filter: { os_distr: 'debian' } } })]),
    headline: headline('images\\[0\\]\\.source\\.filter: unknown key "os_distr" — did you mean "os_distro"\\?'),
  },
  {
    name: 'source.filter.visibility is not a Glance visibility',
    manifest: manifestWith([image({ source: { filter: { visibility: 'pubic' } } })]),
    headline: headline('images\\[0\\]\\.source\\.filter\\.visibility: expected "public", "private", "shared" or "community", got "pubic" — did you mean "public"\\?'),
  },
  {
    name: 'an empty source.filter',
    manifest: manifestWith([image({ source: { filter: {} } })]),
    headline: headline('images\\[0\\]\\.source\\.filter: a filter needs at least one of os_distro, os_version, properties, tags, visibility or owner'),
  },
  {
    name: 'a source with neither image nor filter',
    manifest: manifestWith([image({ source: { pick: 'newest' } })]),
    headline: headline('images\\[0\\]\\.source: a source needs "image" \\(a name, or a map from cloud or cloud/region to a name\\), "filter", or both'),
  },
  // Boot from volume, availability zone.
  {
    name: 'build.volume.size is a string',
    manifest: manifestWith([image({ build: { volume: { size: '10' }, steps: [{ run: 'true' }] } })]),
    headline: headline('images\\[0\\]\\.build\\.volume\\.size: expected an integer, got string'),
  },
  {
    name: 'a misspelt build.volume key gets a suggestion',
    manifest: { ...manifestWith(), defaults: { build: { volume: { szie: 10 } } } },
    headline: headline('defaults\\.build\\.volume: unknown key "szie" — did you mean "size"\\?'),
  },
  {
    name: 'build.volume.size is 0',
    manifest: { ...manifestWith(), defaults: { build: { volume: { size: 0 } } } },
    headline: headline('defaults\\.build\\.volume\\.size: must be greater than 0, got 0'),
  },
  {
    name: 'build.volume.deleteOnTermination is "no"',
    manifest: { ...manifestWith(), defaults: { build: { volume: { deleteOnTermination: 'no' } } } },
    headline: headline('defaults\\.build\\.volume\\.deleteOnTermination: expected true or false, got string'),
  },
  {
    name: 'build.availabilityZone is empty',
    manifest: { ...manifestWith(), defaults: { build: { availabilityZone: '' } } },
    headline: headline('defaults\\.build\\.availabilityZone: availabilityZone must not be empty'),
  },
  {
    name: 'a misspelt build key ("availabiltyZone") gets a suggestion',
    manifest: { ...manifestWith(), defaults: { build: { availabiltyZone: 'az1' } } },
    headline: headline('defaults\\.build: unknown key "availabiltyZone" — did you mean "availabilityZone"\\?'),
  },
  // Networks, ports, SSH interface and IP version, openFrom.
  {
    name: 'build.networks is a string',
    manifest: { ...manifestWith(), defaults: { build: { networks: 'private' } } },
    headline: headline('defaults\\.build\\.networks: expected an array of strings, got string'),
  },
  {
    name: 'build.ports is empty',
    manifest: { ...manifestWith(), defaults: { build: { ports: [] } } },
    headline: headline('defaults\\.build\\.ports: needs at least 1 entry'),
  },
  {
    name: 'network and networks in one layer',
    manifest: { ...manifestWith(), defaults: { build: { network: 'a', networks: ['b'] } } },
    headline: headline('defaults\\.build\\.networks: give "network" or "networks", not both'),
  },
  {
    name: 'ssh.ipVersion 5',
    manifest: { ...manifestWith(), defaults: { build: { ssh: { ipVersion: 5 } } } },
    headline: headline('defaults\\.build\\.ssh\\.ipVersion: expected 4 or 6, got 5'),
  },
  {
    name: 'a misspelt ssh key ("opnFrom") gets a suggestion',
    manifest: { ...manifestWith(), defaults: { build: { ssh: { opnFrom: 'runner' } } } },
    headline: headline('defaults\\.build\\.ssh: unknown key "opnFrom" — did you mean "openFrom"\\?'),
  },
  {
    name: 'ssh.openFrom is a word other than "runner"',
    manifest: { ...manifestWith(), defaults: { build: { ssh: { openFrom: 'everyone' } } } },
    headline: headline('defaults\\.build\\.ssh\\.openFrom: expected "runner", got "everyone"'),
  },
  {
    name: 'ssh.openFrom has something that is not a CIDR',
    manifest: { ...manifestWith(), defaults: { build: { ssh: { openFrom: ['198.51.100.7'] } } } },
    headline: headline('defaults\\.build\\.ssh\\.openFrom\\[0\\]: "198\\.51\\.100\\.7" is not a CIDR such as "203\\.0\\.113\\.7/32" or "2001:db8::/64"'),
  },
  {
    name: 'ssh.interface "floating" without a floating IP pool',
    manifest: { ...manifestWith(), defaults: { build: { network: 'private', ssh: { interface: 'floating' } } } },
    headline: headline('images\\[0\\]\\.build: in emulator/RegionOne: ssh\\.interface "floating" needs build\\.floatingIpPool \\(the external network to take a floating IP from\\)'),
  },
  {
    name: 'ssh.interface names a network the server is not on',
    manifest: { ...manifestWith(), defaults: { build: { networks: ['private', 'public'], ssh: { interface: 'pubilc' } } } },
    headline: headline('images\\[0\\]\\.build: in emulator/RegionOne: ssh\\.interface "pubilc" is not one of the build server\'s networks \\(private, public\\) — did you mean "public"\\?'),
  },
  {
    name: 'ssh.openFrom with only ports made beforehand',
    // The target's own settings, without the network manifestWith gives: ports alone.
    manifest: { ...manifestWith(), targets: [{ cloud: 'emulator', regions: ['RegionOne'], build: { flavor: 'm1.small', ports: ['p1'], ssh: { user: 'debian', openFrom: 'runner' } } }] },
    headline: headline('images\\[0\\]\\.build: in emulator/RegionOne: security groups \\(securityGroups, ssh\\.openFrom\\) apply only to the ports Nova makes .*'),
  },
  {
    name: 'ssh.openFrom "runner" through a bastion',
    manifest: {
      ...manifestWith(),
      defaults: { build: { network: 'private', ssh: { openFrom: 'runner', bastion: { host: 'bastion.example.com', user: 'jump' } } } },
    },
    headline: headline(
      'images\\[0\\]\\.build: in emulator/RegionOne: ssh\\.openFrom "runner" with ssh\\.bastion: SSH reaches the build server from the bastion bastion\\.example\\.com, not from this machine; .*',
    ),
  },
  {
    name: 'ssh.ipVersion 6 with a floating IP',
    manifest: { ...manifestWith(), defaults: { build: { network: 'private', floatingIpPool: 'public', ssh: { ipVersion: 6 } } } },
    headline: headline('images\\[0\\]\\.build: in emulator/RegionOne: ssh\\.ipVersion 6 and a floating IP: Neutron\'s floating IPs are IPv4; .*'),
  },
  // User data and config drive.
  {
    name: 'build.userData is a number',
    manifest: { ...manifestWith(), defaults: { build: { userData: 42 } } },
    headline: headline('defaults\\.build\\.userData: expected a string or an object, got 42'),
  },
  {
    name: 'a misspelt userData key gets a suggestion',
    manifest: manifestWith([image({ build: { userData: { fiel: 'cloud-init.yaml' }, steps: [{ run: 'true' }] } })]),
    headline: headline('images\\[0\\]\\.build\\.userData: unknown key "fiel" — did you mean "file"\\?'),
  },
  {
    name: 'userData with both file and cloudConfig',
    manifest: manifestWith([image({ build: { userData: { file: 'a.yaml', cloudConfig: { runcmd: [] } }, steps: [{ run: 'true' }] } })]),
    headline: headline('images\\[0\\]\\.build\\.userData: userData needs exactly one of "file" or "cloudConfig"'),
  },
  {
    name: 'a userData file that does not exist',
    manifest: { ...manifestWith(), targets: [{ cloud: 'emulator', regions: ['RegionOne'], build: { userData: { file: 'cloud-init/web.yaml' } } }] },
    headline: headline('targets\\[0\\]\\.build\\.userData\\.file: file "cloud-init/web\\.yaml" does not exist \\(paths are relative to the manifest\'s directory\\)'),
  },
  {
    name: 'a userData file outside the repository',
    manifest: { ...manifestWith(), defaults: { build: { userData: { file: '../../etc/passwd' } } } },
    headline: headline('defaults\\.build\\.userData\\.file: "\\.\\./\\.\\./etc/passwd" is outside the repository \\(/\\S+\\); userData\\.file only reads files kept next to the manifest'),
  },
  {
    name: 'user data over Nova\'s 65535 bytes of base64',
    manifest: { ...manifestWith(), defaults: { build: { userData: `#!/bin/sh\n${'x'.repeat(50_000)}` } } },
    headline: headline('defaults\\.build\\.userData: user data is 50010 bytes, 66680 once base64-encoded; Nova takes at most 65535 .*'),
  },
  {
    name: 'build.configDrive is "yes"',
    manifest: { ...manifestWith(), defaults: { build: { configDrive: 'yes' } } },
    headline: headline('defaults\\.build\\.configDrive: expected true or false, got string'),
  },
  {
    name: 'source.filter.tags is a string',
    manifest: manifestWith([image({ source: { filter: { tags: 'prod' } } })]),
    headline: headline('images\\[0\\]\\.source\\.filter\\.tags: expected an array of strings, got string'),
  },
];

/** The valid one-target manifest with this build.ssh.bastion. */
function withBastion(bastion: Record<string, unknown>): Record<string, unknown> {
  return { targets: [{ cloud: 'emulator', regions: ['RegionOne'], build: { ssh: { user: 'debian', bastion } } }], images: [image()] };
}

describe('manifests that are refused (exit 3, nothing contacted)', () => {
  it.each(bad)('$name', async ({ manifest, headline: h, details }) => {
    await c.manifest(manifest);
    const r = await runUntouched(c, ['plan']);
    expectInputError(r, h, details ? { details } : {});
  });

  it('a manifest path that is a directory', async () => {
    const r = await runUntouched(c, ['plan', '-m', 'tasks']);
    expectInputError(r, /^imagesync: tasks: is a directory; give the path of the manifest file \(images\.manifest\.json\)$/);
  });

  it('a manifest over 16 MiB is refused without being read', async () => {
    const path = join(c.dir, 'images.manifest.json');
    const fh = await open(path, 'w');
    await fh.truncate(MAX_MANIFEST_BYTES + 1); // sparse: no 16 MiB written
    await fh.close();
    const readBefore = bytesRead();
    const r = await runUntouched(c, ['plan']);
    expectInputError(r, headline('the file is 16\\.0 MiB; a manifest is at most 16 MiB \\(is this the right file\\?\\)'));
    // Reading it would have cost this process 16 MiB of read(2)s; what it did read is far less.
    expect(bytesRead() - readBefore, 'bytes read by this process').toBeLessThan(MAX_MANIFEST_BYTES / 4);
  });
});

describe('manifests that look odd but are valid', () => {
  it('a unicode image name ("débian-12 ✓") is found in Glance by that exact name', async () => {
    const name = 'débian-12 ✓';
    emulator.state.addImage('RegionOne', { name, status: 'active' });
    await c.manifest(manifestWith([image({ name })]));
    const r = await c.run(['plan', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const [entry] = JSON.parse(r.stdout).entries;
    expect(entry).toMatchObject({ image: name, state: 'present' });
  });

  it('names that differ only by case are two images (Glance names are case-sensitive)', async () => {
    emulator.state.addImage('RegionOne', { name: 'Corpus-Web', status: 'active' });
    await c.manifest(manifestWith([image({ name: 'Corpus-Web' }), image({ name: 'corpus-web' })]));
    const r = await c.run(['plan', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const states = Object.fromEntries(JSON.parse(r.stdout).entries.map((e: { image: string; state: string }) => [e.image, e.state]));
    expect(states).toEqual({ 'Corpus-Web': 'present', 'corpus-web': 'missing' });
  });

  it('a 255-character name made of astral characters is valid (the limit counts characters)', async () => {
    await c.manifest(manifestWith([image({ name: 'corpus-' + '😀'.repeat(248) })]));
    const r = await runUntouched(c, ['validate']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('images.manifest.json: valid — 1 image, 1 target, 1 task\n');
  });

  it('a byte order mark before the JSON is accepted', async () => {
    await c.manifest('\uFEFF' + JSON.stringify(manifestWith()));
    const r = await c.run(['plan', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).entries[0].state).toBe('missing');
  });

  it('"$schema" pointing elsewhere is allowed', async () => {
    await c.manifest({ $schema: 'https://example.com/other.schema.json', ...manifestWith() });
    const r = await runUntouched(c, ['validate']);
    expect(r.code, r.stderr).toBe(0);
  });

  it('a 5 MB manifest (20 000 images) validates', async () => {
    const images = Array.from({ length: 20_000 }, (_, i) => image({ name: `corpus-${i}`, description: 'x'.repeat(200) }));
    const path = await c.manifest(JSON.stringify(manifestWith(images)));
    const { size } = await import('node:fs/promises').then((fs) => fs.stat(path));
    expect(size).toBeGreaterThan(5_000_000);
    const r = await runUntouched(c, ['validate']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('images.manifest.json: valid — 20000 images, 1 target, 1 task\n');
  });
});

describe('bastions apply cannot use (exit 3 before any cloud is contacted)', () => {
  const bastion = { host: '192.0.2.10', user: 'jump' };
  const path = 'targets\\[0\\]\\.build\\.ssh\\.bastion';
  const cases: Array<{ name: string; bastion: Record<string, unknown>; files?: Record<string, { text: string; mode: number }>; headline: RegExp }> = [
    {
      name: 'its key file does not exist',
      bastion: { ...bastion, privateKeyFile: 'keys/bastion', hostKey: `SHA256:${'a'.repeat(43)}` },
      headline: headline(`${path}\\.privateKeyFile: keys/bastion: no such file; pass the path of an OpenSSH private key`),
    },
    {
      name: 'its key file is readable by others',
      bastion: { ...bastion, privateKeyFile: 'bastion_key', hostKey: `SHA256:${'a'.repeat(43)}` },
      files: { bastion_key: { text: KEY, mode: 0o644 } },
      headline: headline(`${path}\\.privateKeyFile: bastion_key: permissions 0644 are too open \\(group or others can access the private key\\); run chmod 600 .*bastion_key`),
    },
    {
      name: 'no key file and no ssh-agent',
      bastion: { ...bastion, hostKey: `SHA256:${'a'.repeat(43)}` },
      headline: headline(`${path}: no privateKeyFile, and SSH_AUTH_SOCK is not set; set privateKeyFile or add the bastion's key to ssh-agent`),
    },
    {
      name: 'known_hosts does not list it',
      bastion: { ...bastion, privateKeyFile: 'bastion_key', knownHosts: 'known_hosts' },
      files: { bastion_key: { text: KEY, mode: 0o600 }, known_hosts: { text: '198.51.100.7 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n', mode: 0o644 } },
      headline: headline(`${path}\\.knownHosts: known_hosts has no key for 192\\.0\\.2\\.10; add it \\(ssh-keyscan 192\\.0\\.2\\.10, after checking its fingerprint\\) or pin it in hostKey`),
    },
    {
      name: 'a pinned public key line whose key is of another type',
      bastion: { ...bastion, privateKeyFile: 'bastion_key', hostKey: ['ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl'] },
      files: { bastion_key: { text: KEY, mode: 0o600 } },
      headline: headline(`${path}\\.hostKey: \\[0\\] public key line says ssh-rsa but its key is ssh-ed25519`),
    },
  ];
  it.each(cases)('$name', async ({ bastion: b, files, headline: h }) => {
    await c.manifest(withBastion(b));
    for (const [name, f] of Object.entries(files ?? {})) {
      await writeFile(join(c.dir, name), f.text);
      await chmod(join(c.dir, name), f.mode);
    }
    // HOME is the corpus folder: the machine's own ~/.ssh and agent are never read.
    const r = await runUntouched(c, ['apply', '--yes'], { HOME: c.dir });
    expectInputError(r, h);
  });

  it('plan does not need the bastion: it reads Glance only', async () => {
    await c.manifest(withBastion({ ...bastion, privateKeyFile: 'keys/missing', hostKey: `SHA256:${'a'.repeat(43)}` }));
    const r = await c.run(['plan']);
    expect(r.code, r.stderr).toBe(0);
  });
});
