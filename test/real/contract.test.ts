// Runs the Keystone + Glance contract against the real tier (Keystone + two Glance, pages capped at 20 by global-setup.ts).
import { realTier } from './env.js';
import { defineContract, httpSeededTarget } from '../contract/suite.js';

defineContract('real Keystone + Glance', async () => {
  const tier = realTier();
  return httpSeededTarget(
    {
      authUrl: tier.authUrl,
      username: tier.username,
      password: tier.password,
      projectName: tier.projectName,
      userDomain: 'Default',
    },
    ['RegionOne', 'RegionTwo'],
  );
});
