// The common `openstack` commands the CLI survey runs, in session order (later ones use what earlier ones made).

export type SurveyArea = 'identity' | 'image' | 'compute' | 'network' | 'volume';

export interface SurveyCommand {
  area: SurveyArea;
  /** Arguments after `openstack`; `{name}` is replaced by a value an earlier command captured, or a file of the run. */
  args: string[];
  /** `refused`: the real service answers 400, so the command must fail with HTTP 400 to count as working. */
  expect?: 'ok' | 'refused';
  /** Why the command is outside what the emulator serves (counted apart). */
  outOfScope?: string;
  /** Values for later commands, from this command's parsed `-f json` output. */
  capture?: (out: any) => Record<string, string>;
}


export const SURVEY_COMMANDS: SurveyCommand[] = [
  // Identity
  { area: 'identity', args: ['token', 'issue', '-f', 'json'] },
  { area: 'identity', args: ['catalog', 'list', '-f', 'json'] },
  { area: 'identity', args: ['catalog', 'show', 'image', '-f', 'json'] },
  {
    area: 'identity',
    args: ['endpoint', 'list', '-f', 'json'],
    capture: (out) => ({ endpoint: out.find((e: any) => e['Service Type'] === 'image')?.ID ?? '' }),
  },
  { area: 'identity', args: ['endpoint', 'list', '--service', 'image', '-f', 'json'] },
  { area: 'identity', args: ['endpoint', 'list', '--interface', 'public', '--region', 'RegionTwo', '-f', 'json'] },
  { area: 'identity', args: ['endpoint', 'show', '{endpoint}', '-f', 'json'] },
  { area: 'identity', args: ['region', 'list', '-f', 'json'] },
  { area: 'identity', args: ['region', 'show', 'RegionOne', '-f', 'json'] },
  { area: 'identity', args: ['service', 'list', '-f', 'json'] },
  { area: 'identity', args: ['project', 'list', '-f', 'json'] },
  { area: 'identity', args: ['project', 'show', 'admin', '-f', 'json'] },
  { area: 'identity', args: ['user', 'show', 'admin', '-f', 'json'] },
  { area: 'identity', args: ['versions', 'show', '-f', 'json'] },

  // Image
  { area: 'image', args: ['image', 'list', '-f', 'json'] },
  { area: 'image', args: ['image', 'list', '--public', '-f', 'json'] },
  { area: 'image', args: ['image', 'list', '--name', 'debian-12-genericcloud', '-f', 'json'] },
  { area: 'image', args: ['image', 'list', '--status', 'active', '--sort', 'name:asc', '--limit', '2', '-f', 'json'] },
  { area: 'image', args: ['image', 'list', '--property', 'os_distro=debian', '--long', '-f', 'json'] },
  { area: 'image', args: ['image', 'show', 'debian-12-genericcloud', '-f', 'json'] },
  {
    area: 'image',
    args: ['image', 'create', 'survey-img', '--file', '{imageFile}', '--disk-format', 'raw', '--container-format', 'bare', '--property', 'purpose=survey', '--tag', 'survey', '-f', 'json'],
  },
  { area: 'image', args: ['image', 'list', '--tag', 'survey', '-f', 'json'] },
  { area: 'image', args: ['image', 'list', '--private', '-f', 'json'] },
  { area: 'image', args: ['image', 'show', 'survey-img', '-f', 'json'] },
  { area: 'image', args: ['image', 'set', '--property', 'team=qa', '--min-ram', '128', '--min-disk', '1', 'survey-img'] },
  { area: 'image', args: ['image', 'unset', '--property', 'team', 'survey-img'] },
  { area: 'image', args: ['image', 'set', '--tag', 'extra', 'survey-img'] },
  { area: 'image', args: ['image', 'save', '--file', '{saveFile}', 'survey-img'] },
  { area: 'image', args: ['image', 'set', '--deactivate', 'survey-img'] },
  { area: 'image', args: ['image', 'set', '--activate', 'survey-img'] },
  { area: 'image', args: ['image', 'create', 'survey-neg-disk', '--min-disk', '-1', '-f', 'json'], expect: 'refused' },
  { area: 'image', args: ['image', 'create', 'survey-neg-ram', '--min-ram', '-1', '-f', 'json'], expect: 'refused' },
  { area: 'image', args: ['image', 'set', '--min-disk', '-1', 'survey-img'], expect: 'refused' },

  // Compute
  { area: 'compute', args: ['flavor', 'list', '-f', 'json'] },
  { area: 'compute', args: ['flavor', 'list', '--long', '-f', 'json'] },
  { area: 'compute', args: ['flavor', 'show', 'm1.small', '-f', 'json'] },
  { area: 'compute', args: ['keypair', 'create', 'survey-generated'] },
  { area: 'compute', args: ['keypair', 'create', '--public-key', '{publicKeyFile}', 'survey-key', '-f', 'json'] },
  { area: 'compute', args: ['keypair', 'create', '--os-compute-api-version', '2.92', 'survey-nokey'], expect: 'refused' },
  { area: 'compute', args: ['keypair', 'create', '--os-compute-api-version', '2.92', '--public-key', '{publicKeyFile}', 'survey-key-292', '-f', 'json'] },
  { area: 'compute', args: ['keypair', 'list', '-f', 'json'] },
  { area: 'compute', args: ['keypair', 'show', 'survey-key', '-f', 'json'] },
  { area: 'compute', args: ['keypair', 'delete', 'survey-generated'] },
  { area: 'network', args: ['security', 'group', 'list', '-f', 'json'] },
  { area: 'network', args: ['security', 'group', 'show', 'default', '-f', 'json'] },
  { area: 'network', args: ['security', 'group', 'create', '--description', 'SSH from the survey', 'survey-sg', '-f', 'json'] },
  {
    area: 'network',
    args: ['security', 'group', 'rule', 'create', '--ingress', '--protocol', 'tcp', '--dst-port', '22', '--remote-ip', '192.0.2.0/24', 'survey-sg', '-f', 'json'],
    capture: (out) => ({ rule: out.id ?? '' }),
  },
  { area: 'network', args: ['security', 'group', 'rule', 'create', '--ingress', '--protocol', 'icmp', 'survey-sg', '-f', 'json'] },
  { area: 'network', args: ['security', 'group', 'rule', 'list', 'survey-sg', '-f', 'json'] },
  { area: 'network', args: ['security', 'group', 'rule', 'show', '{rule}', '-f', 'json'] },
  { area: 'network', args: ['security', 'group', 'set', '--description', 'SSH only', 'survey-sg'] },
  {
    area: 'compute',
    args: [
      'server', 'create', '--image', 'debian-12-genericcloud', '--flavor', 'm1.small', '--key-name', 'survey-key', '--network', 'private',
      '--property', 'purpose=survey', '--wait', 'survey-srv', '-f', 'json',
    ],
  },
  { area: 'compute', args: ['server', 'list', '-f', 'json'] },
  { area: 'compute', args: ['server', 'list', '--name', 'survey', '--status', 'ACTIVE', '-f', 'json'] },
  { area: 'compute', args: ['server', 'show', 'survey-srv', '-f', 'json'] },
  { area: 'compute', args: ['console', 'log', 'show', 'survey-srv'] },
  { area: 'compute', args: ['console', 'log', 'show', '--lines', '20', 'survey-srv'] },
  { area: 'compute', args: ['server', 'set', '--property', 'role=survey', 'survey-srv'] },
  { area: 'compute', args: ['server', 'unset', '--property', 'role', 'survey-srv'] },
  { area: 'compute', args: ['server', 'set', '--tag', 'survey', '--os-compute-api-version', '2.26', 'survey-srv'] },
  { area: 'compute', args: ['server', 'event', 'list', 'survey-srv', '-f', 'json'] },
  { area: 'compute', args: ['server', 'add', 'security', 'group', 'survey-srv', 'survey-sg'] },
  { area: 'compute', args: ['server', 'remove', 'security', 'group', 'survey-srv', 'survey-sg'] },
  { area: 'compute', args: ['server', 'stop', 'survey-srv'] },
  { area: 'compute', args: ['server', 'start', 'survey-srv'] },
  { area: 'compute', args: ['server', 'reboot', '--wait', 'survey-srv'] },
  { area: 'compute', args: ['server', 'image', 'create', '--name', 'survey-snap', '--wait', 'survey-srv', '-f', 'json'] },
  { area: 'compute', args: ['limits', 'show', '--absolute', '-f', 'json'] },
  { area: 'compute', args: ['quota', 'show', '-f', 'json'] },
  { area: 'compute', args: ['availability', 'zone', 'list', '--compute', '-f', 'json'] },
  { area: 'network', args: ['availability', 'zone', 'list', '--network', '-f', 'json'] },

  // Network (the server is up now)
  { area: 'network', args: ['network', 'list', '-f', 'json'] },
  { area: 'network', args: ['network', 'list', '--external', '-f', 'json'] },
  { area: 'network', args: ['network', 'show', 'private', '-f', 'json'] },
  { area: 'network', args: ['subnet', 'list', '-f', 'json'] },
  { area: 'network', args: ['port', 'list', '-f', 'json'] },
  { area: 'network', args: ['port', 'list', '--server', 'survey-srv', '-f', 'json'], capture: (out) => ({ port: out[0]?.ID ?? '' }) },
  { area: 'network', args: ['port', 'show', '{port}', '-f', 'json'] },
  {
    area: 'network',
    args: ['floating', 'ip', 'create', '--description', 'survey', 'public', '-f', 'json'],
    capture: (out) => ({ fip: out.id ?? '', fipAddress: out.floating_ip_address ?? '' }),
  },
  { area: 'network', args: ['floating', 'ip', 'list', '-f', 'json'] },
  { area: 'network', args: ['floating', 'ip', 'show', '{fip}', '-f', 'json'] },
  { area: 'network', args: ['floating', 'ip', 'set', '--port', '{port}', '{fip}'] },
  { area: 'network', args: ['floating', 'ip', 'unset', '--port', '{fip}'] },
  { area: 'compute', args: ['server', 'add', 'floating', 'ip', 'survey-srv', '{fipAddress}'] },
  { area: 'compute', args: ['server', 'remove', 'floating', 'ip', 'survey-srv', '{fipAddress}'] },
  { area: 'network', args: ['floating', 'ip', 'delete', '{fip}'] },
  { area: 'network', args: ['router', 'list', '-f', 'json'], outOfScope: 'the emulator has no routers: its two networks are loopback ranges, the floating one forwards to the fixed one directly' },
  { area: 'network', args: ['network', 'create', 'survey-net', '-f', 'json'], outOfScope: 'the emulator has no tenant networks: its networks are fixed loopback ranges per region' },

  // Tear-down
  { area: 'compute', args: ['server', 'delete', '--wait', 'survey-srv'] },
  { area: 'network', args: ['security', 'group', 'rule', 'delete', '{rule}'] },
  { area: 'network', args: ['security', 'group', 'delete', 'survey-sg'] },
  { area: 'compute', args: ['keypair', 'delete', 'survey-key'] },
  { area: 'image', args: ['image', 'delete', 'survey-snap'] },
  { area: 'image', args: ['image', 'delete', 'survey-img'] },

  // Block storage
  { area: 'volume', args: ['volume', 'list', '-f', 'json'] },
  { area: 'volume', args: ['volume', 'create', '--size', '1', 'survey-vol', '-f', 'json'] },
  { area: 'volume', args: ['volume', 'type', 'list', '-f', 'json'] },
];
