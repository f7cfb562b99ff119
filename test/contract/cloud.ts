// The contract's credentials as the CloudConfig imagesync's own clients take (a password user scoped to a project).
import type { CloudConfig } from '../../src/config/types.js';
import type { Credentials } from './http.js';

export function credentialsCloud(c: Credentials, source: string, extra: Partial<CloudConfig> = {}): CloudConfig {
  return {
    name: 'contract',
    auth: {
      type: 'password',
      authUrl: c.authUrl,
      username: c.username,
      userDomainName: c.userDomain,
      password: c.password,
      projectName: c.projectName,
      projectDomainName: c.userDomain,
    },
    interface: 'public',
    insecure: false,
    source,
    secrets: [c.password],
    ...extra,
  };
}
