// The body of POST /servers for each build option: image or volume boot, networks or ports, zone, security groups, user data, config drive.
import { describe, expect, it } from 'vitest';
import { bootBody, type BootRequest } from '../../src/openstack/nova.js';

const base: BootRequest = {
  name: 'imagesync-build-web-r1',
  imageRef: 'img-1',
  flavorRef: 'f-1',
  keyName: 'imagesync-key-web-r1',
  networks: [{ uuid: 'net-1' }],
  metadata: { imagesync_run: 'r1' },
  tags: ['imagesync'],
};
const v = (minor: number) => ({ major: 2, minor });

describe('bootBody', () => {
  it('an image boot: image, flavor, key, networks, metadata; tags only from 2.52', () => {
    expect(bootBody(base, v(96))).toEqual({
      name: base.name,
      imageRef: 'img-1',
      flavorRef: 'f-1',
      key_name: base.keyName,
      networks: [{ uuid: 'net-1' }],
      metadata: { imagesync_run: 'r1' },
      tags: ['imagesync'],
    });
    expect(bootBody(base, v(51))).not.toHaveProperty('tags');
  });

  it('user data is sent base64-encoded; the config drive as asked', () => {
    const body = bootBody({ ...base, userData: Buffer.from('#cloud-config\nruncmd: [true]\n'), configDrive: true }, v(96));
    expect(Buffer.from(body.user_data as string, 'base64').toString()).toBe('#cloud-config\nruncmd: [true]\n');
    expect(body.config_drive).toBe(true);
    expect(bootBody({ ...base, configDrive: false }, v(96)).config_drive).toBe(false);
    expect(bootBody(base, v(96))).not.toHaveProperty('user_data');
    expect(bootBody(base, v(96))).not.toHaveProperty('config_drive');
  });

  it('security groups by name or id, and an availability zone', () => {
    const body = bootBody({ ...base, securityGroups: ['default', 'ssh-from-office'], availabilityZone: 'az-2' }, v(96));
    expect(body.security_groups).toEqual([{ name: 'default' }, { name: 'ssh-from-office' }]);
    expect(body.availability_zone).toBe('az-2');
  });

  it('several networks, or ports made beforehand', () => {
    expect(bootBody({ ...base, networks: [{ uuid: 'a' }, { uuid: 'b' }] }, v(96)).networks).toEqual([{ uuid: 'a' }, { uuid: 'b' }]);
    expect(bootBody({ ...base, networks: [{ port: 'p-1' }] }, v(96)).networks).toEqual([{ port: 'p-1' }]);
  });

  it('a volume boot: block_device_mapping_v2 with the root volume, and no image', () => {
    const body = bootBody(
      { ...base, blockDevices: [{ boot_index: 0, uuid: 'vol-1', source_type: 'volume', destination_type: 'volume', delete_on_termination: true }] },
      v(96),
    );
    expect(body.imageRef).toBe('');
    expect(body.block_device_mapping_v2).toEqual([{ boot_index: 0, uuid: 'vol-1', source_type: 'volume', destination_type: 'volume', delete_on_termination: true }]);
  });
});
