// Runs the Glance data and import contract against the real tier (two Glance regions of one Keystone).
import { defineImportContract } from '../contract/import-suite.js';
import { tierCredentials } from '../helpers/credentials.js';
import { realTier } from './env.js';

defineImportContract('real Keystone + Glance', async () => ({ ...tierCredentials(realTier()), regions: ['RegionOne', 'RegionTwo'] }));
