// The OS_* variables as the raw cloud entry "envvars".
import { describe, expect, it } from 'vitest';
import { envCloudEntry, hasEnvCloud, variableFor } from '../../src/config/env.js';

describe('envCloudEntry', () => {
  it('is undefined without OS_AUTH_URL (or with it empty)', () => {
    expect(envCloudEntry({ OS_USERNAME: 'u', OS_PASSWORD: 'p' })).toBeUndefined();
    expect(hasEnvCloud({ OS_AUTH_URL: '' })).toBe(false);
  });

  it('maps every variable, preferring the new name over the legacy one', () => {
    expect(
      envCloudEntry({
        OS_AUTH_URL: 'http://k/v3',
        OS_USERNAME: 'u',
        OS_USER_ID: 'uid',
        OS_PASSWORD: 'p',
        OS_PROJECT_NAME: 'new',
        OS_TENANT_NAME: 'old',
        OS_TENANT_ID: 'tid',
        OS_USER_DOMAIN_NAME: 'ud',
        OS_USER_DOMAIN_ID: 'udi',
        OS_PROJECT_DOMAIN_NAME: 'pd',
        OS_PROJECT_DOMAIN_ID: 'pdi',
        OS_DOMAIN_NAME: 'd',
        OS_DOMAIN_ID: 'di',
        OS_APPLICATION_CREDENTIAL_ID: 'aci',
        OS_APPLICATION_CREDENTIAL_NAME: 'acn',
        OS_APPLICATION_CREDENTIAL_SECRET: 'acs',
        OS_TOKEN: 't',
        OS_AUTH_TYPE: 'password',
        OS_REGION_NAME: 'R',
        OS_ENDPOINT_TYPE: 'internalURL',
        OS_CACERT: '/ca',
        OS_INSECURE: '1',
        OS_IDENTITY_API_VERSION: '3',
        OS_CLOUD: 'ignored',
      }),
    ).toEqual({
      auth: {
        auth_url: 'http://k/v3',
        username: 'u',
        user_id: 'uid',
        password: 'p',
        project_name: 'new',
        project_id: 'tid',
        user_domain_name: 'ud',
        user_domain_id: 'udi',
        project_domain_name: 'pd',
        project_domain_id: 'pdi',
        domain_name: 'd',
        domain_id: 'di',
        application_credential_id: 'aci',
        application_credential_name: 'acn',
        application_credential_secret: 'acs',
        token: 't',
      },
      auth_type: 'password',
      region_name: 'R',
      interface: 'internalURL',
      cacert: '/ca',
      insecure: '1',
      identity_api_version: '3',
    });
  });
});

describe('variableFor', () => {
  it('names the variable a key came from', () => {
    expect(variableFor(['auth', 'application_credential_secret'])).toBe('OS_APPLICATION_CREDENTIAL_SECRET');
    expect(variableFor(['auth', 'project_id'])).toBe('OS_PROJECT_ID');
    expect(variableFor(['interface'])).toBe('OS_INTERFACE');
  });
});
