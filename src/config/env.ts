// The cloud "envvars": openstacksdk's reading of the OS_* variables, as a raw cloud entry.

export const ENVVARS_CLOUD = 'envvars';

/** Raw-entry key path → the variable it came from, for messages ("OS_PASSWORD is not set"). */
const VARIABLES: Record<string, string[]> = {
  'auth.auth_url': ['OS_AUTH_URL'],
  'auth.username': ['OS_USERNAME'],
  'auth.user_id': ['OS_USER_ID'],
  'auth.password': ['OS_PASSWORD'],
  'auth.project_name': ['OS_PROJECT_NAME', 'OS_TENANT_NAME'],
  'auth.project_id': ['OS_PROJECT_ID', 'OS_TENANT_ID'],
  'auth.user_domain_name': ['OS_USER_DOMAIN_NAME'],
  'auth.user_domain_id': ['OS_USER_DOMAIN_ID'],
  'auth.project_domain_name': ['OS_PROJECT_DOMAIN_NAME'],
  'auth.project_domain_id': ['OS_PROJECT_DOMAIN_ID'],
  'auth.domain_name': ['OS_DOMAIN_NAME'],
  'auth.domain_id': ['OS_DOMAIN_ID'],
  'auth.application_credential_id': ['OS_APPLICATION_CREDENTIAL_ID'],
  'auth.application_credential_name': ['OS_APPLICATION_CREDENTIAL_NAME'],
  'auth.application_credential_secret': ['OS_APPLICATION_CREDENTIAL_SECRET'],
  'auth.token': ['OS_TOKEN', 'OS_AUTH_TOKEN'],
  auth_type: ['OS_AUTH_TYPE'],
  region_name: ['OS_REGION_NAME'],
  interface: ['OS_INTERFACE', 'OS_ENDPOINT_TYPE'],
  cacert: ['OS_CACERT'],
  insecure: ['OS_INSECURE'],
  identity_api_version: ['OS_IDENTITY_API_VERSION'],
};

/** The variable name to show for a raw-entry key path. */
export function variableFor(path: ReadonlyArray<string | number>): string {
  const key = path.join('.');
  return VARIABLES[key]?.[0] ?? `OS_${String(path[path.length - 1] ?? '').toUpperCase()}`;
}

function get(env: NodeJS.ProcessEnv, names: string[]): string | undefined {
  // `export OS_TENANT_NAME=` is a common way to "unset" in openrc files: empty means absent.
  for (const n of names) {
    const v = env[n];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

/** True when the environment defines the cloud "envvars" (OS_AUTH_URL is set). */
export function hasEnvCloud(env: NodeJS.ProcessEnv): boolean {
  return get(env, ['OS_AUTH_URL']) !== undefined;
}

/** The raw cloud entry the OS_* variables describe, or undefined without OS_AUTH_URL. */
export function envCloudEntry(env: NodeJS.ProcessEnv): Record<string, unknown> | undefined {
  if (!hasEnvCloud(env)) return undefined;
  const entry: Record<string, unknown> = {};
  const auth: Record<string, string> = {};
  for (const [key, names] of Object.entries(VARIABLES)) {
    const v = get(env, names);
    if (v === undefined) continue;
    if (key.startsWith('auth.')) auth[key.slice('auth.'.length)] = v;
    else entry[key] = v;
  }
  entry.auth = auth;
  return entry;
}
