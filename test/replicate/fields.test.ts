import { describe, expect, it } from 'vitest';
import type { GlanceImage } from '../../src/openstack/glance.js';
import { fieldsOf } from '../../src/replicate/fields.js';

const image = (over: Partial<GlanceImage> = {}): GlanceImage => ({ id: 'i1', name: 'web', status: 'active', ...over });

describe('fieldsOf', () => {
  it('keeps formats, minimums, tags and portable properties; drops Glance attributes, os_glance_* and Nova region-bound ones', () => {
    const img = image({
      disk_format: 'qcow2', container_format: 'bare', min_disk: 10, min_ram: 1024, tags: ['a'], size: 5, checksum: 'x', owner: 'p', visibility: 'public',
      os_distro: 'debian', hw_disk_bus: 'scsi', imagesync_recipe: 'r', imagesync_run: '20260101-000000-abcd',
      os_glance_importing_to_stores: '', instance_uuid: 'srv', base_image_ref: 'src', user_id: 'u', stores: 'fs',
    });
    expect(fieldsOf(img)).toEqual({
      disk_format: 'qcow2', container_format: 'bare', min_disk: 10, min_ram: 1024, tags: ['a'],
      properties: { os_distro: 'debian', hw_disk_bus: 'scsi', imagesync_recipe: 'r', imagesync_run: '20260101-000000-abcd' },
    });
  });
});
