// The resolved credentials of one cloud, as every OpenStack client in imagesync takes them.

export type AuthType = 'password' | 'v3applicationcredential' | 'token';

export interface PasswordAuth {
  type: 'password';
  authUrl: string;
  /** user name + user domain, or user id */
  username?: string;
  userId?: string;
  userDomainName?: string;
  userDomainId?: string;
  password: string;
  /** project scope: name + domain, or id */
  projectName?: string;
  projectId?: string;
  projectDomainName?: string;
  projectDomainId?: string;
}

export interface ApplicationCredentialAuth {
  type: 'v3applicationcredential';
  authUrl: string;
  /** id + secret, or name + user (name + domain, or id) */
  applicationCredentialId?: string;
  applicationCredentialName?: string;
  applicationCredentialSecret: string;
  username?: string;
  userId?: string;
  userDomainName?: string;
  userDomainId?: string;
}

export interface TokenAuth {
  type: 'token';
  authUrl: string;
  token: string;
  projectName?: string;
  projectId?: string;
  projectDomainName?: string;
  projectDomainId?: string;
}

export type CloudAuth = PasswordAuth | ApplicationCredentialAuth | TokenAuth;

/** Service types whose endpoint a cloud entry may override (openstacksdk's `<type>_endpoint_override`). */
export const OVERRIDABLE_SERVICES = ['compute', 'network', 'image'] as const;
export type OverridableService = (typeof OVERRIDABLE_SERVICES)[number];
export type ServiceEndpoints = Partial<Record<OverridableService, string>>;

/** Endpoints used instead of the catalog's: cloud-wide, and per region (`regions: [{name, values}]`), the region's first. */
export interface EndpointOverrides {
  cloud: ServiceEndpoints;
  regions: Record<string, ServiceEndpoints>;
}

export interface CloudConfig {
  /** The cloud's name in clouds.yaml, or "envvars" for the OS_* variables. */
  name: string;
  auth: CloudAuth;
  /** Endpoint interface to pick from the catalog: public (default), internal, admin. */
  interface: 'public' | 'internal' | 'admin';
  /** region_name / OS_REGION_NAME, if set (informational: the manifest lists regions). */
  regionName?: string;
  /** `<type>_endpoint_override` keys, when the entry has any. */
  endpointOverrides?: EndpointOverrides;
  /** PEM CA bundle path (cacert / OS_CACERT). */
  cacert?: string;
  /** verify: false / insecure: true → TLS certificates not checked. */
  insecure: boolean;
  /** Where it came from, for messages: "clouds.yaml:12" or "environment (OS_*)". */
  source: string;
  /** Every secret value of this cloud (passwords, tokens, secrets), for redaction. */
  secrets: string[];
}
