// Runs the Glance data and import contract against the real tier (two Glance regions of one Keystone).
import { realTier } from './env.js';
import { defineImportContract } from '../contract/import-suite.js';

defineImportContract('real Keystone + Glance', async () => {
  const tier = realTier();
  return {
    authUrl: tier.authUrl,
    username: tier.username,
    password: tier.password,
    projectName: tier.projectName,
    userDomain: 'Default',
    regions: ['RegionOne', 'RegionTwo'],
  };
});
