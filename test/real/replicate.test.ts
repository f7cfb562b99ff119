// Replication between the real tier's two Glance regions (one Keystone): streamed, glance-download, cut uploads and downloads, web-download.
import { realTier } from './env.js';
import { defineReplicationTests } from '../replicate/suite.js';

defineReplicationTests('real Keystone + Glance', async () => {
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
