// Replication between the real tier's two Glance regions (one Keystone): streamed, glance-download, cut uploads and downloads, web-download.
import { defineReplicationTests } from '../replicate/suite.js';
import { tierCredentials } from '../helpers/credentials.js';
import { realTier } from './env.js';

defineReplicationTests('real Keystone + Glance', async () => ({ ...tierCredentials(realTier()), regions: ['RegionOne', 'RegionTwo'] }));
