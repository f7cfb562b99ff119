// Test helper: users without the admin role, each in a project of its own, made in the real tier's Keystone through its admin API (and removed after).
import { randomBytes } from 'node:crypto';
import { issueToken, sendExpect, type Credentials } from '../contract/http.js';
import { tierCredentials } from '../helpers/credentials.js';
import type { RealTier } from './env.js';

export interface ProjectUsers {
  users: Credentials[];
  remove(): Promise<void>;
}

/** One user with Keystone's "member" role (bootstrap makes it) per name, in a new project named after it. */
export async function makeProjectUsers(tier: RealTier, names: string[]): Promise<ProjectUsers> {
  const admin = await issueToken(tierCredentials(tier));
  const ks = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, expect = [200, 201, 204]) =>
    sendExpect(
      `${tier.authUrl}${path}`,
      { method, headers: { 'x-auth-token': admin.token, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) },
      expect,
    );
  const role = (JSON.parse((await ks('GET', '/roles?name=member')).text) as { roles: Array<{ id: string }> }).roles[0];
  if (!role) throw new Error('test/real/project-users.ts: Keystone has no "member" role (keystone-manage bootstrap makes it)');
  const made: Array<{ project: string; user: string }> = [];
  const users: Credentials[] = [];
  const suffix = randomBytes(3).toString('hex');
  for (const name of names) {
    const projectName = `${name}-${suffix}`;
    const password = randomBytes(12).toString('hex');
    const project = (JSON.parse((await ks('POST', '/projects', { project: { name: projectName, domain_id: 'default' } })).text) as { project: { id: string } }).project.id;
    const user = (JSON.parse((await ks('POST', '/users', { user: { name: projectName, password, domain_id: 'default', default_project_id: project } })).text) as { user: { id: string } }).user.id;
    made.push({ project, user });
    await ks('PUT', `/projects/${project}/users/${user}/roles/${role.id}`);
    users.push({ authUrl: tier.authUrl, username: projectName, password, projectName, userDomain: 'Default' });
  }
  return {
    users,
    async remove() {
      for (const m of made) {
        await ks('DELETE', `/users/${m.user}`, undefined, [204, 404]);
        await ks('DELETE', `/projects/${m.project}`, undefined, [204, 404]);
      }
    },
  };
}
