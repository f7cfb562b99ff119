// Runs the Glance sharing contract against the real tier: its admin, and two users with the "member" role only, in projects made for the test.
import { afterAll } from 'vitest';
import { defineSharingContract } from '../contract/sharing-suite.js';
import { tierCredentials } from '../helpers/credentials.js';
import { realTier } from './env.js';
import { makeProjectUsers, type ProjectUsers } from './project-users.js';

let made: ProjectUsers | undefined;

defineSharingContract('real Keystone + Glance', async () => {
  const tier = realTier();
  made = await makeProjectUsers(tier, ['image-owner', 'image-member']);
  const [owner, member] = made.users;
  return { admin: tierCredentials(tier), owner: owner!, member: member!, regions: ['RegionOne', 'RegionTwo'] };
});

afterAll(async () => {
  await made?.remove();
});
