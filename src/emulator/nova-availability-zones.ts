// Nova's GET /os-availability-zone (every caller) and /detail (admin: the services per host): one zone `nova`, plus `internal` in the detail.
import { jsonReply, type Reply } from './http.js';

/** The emulator's one compute host; conductor and scheduler sit in the hidden `internal` zone, as in a one-node Nova. */
export const EMULATOR_HOST = 'emulator';

function service(updatedAtMs: number): Record<string, unknown> {
  return { available: true, active: true, updated_at: new Date(updatedAtMs).toISOString().replace('Z', '000') };
}

export function availabilityZonesReply(detail: boolean, nowMs: number): Reply {
  if (!detail) return jsonReply(200, { availabilityZoneInfo: [{ zoneName: 'nova', zoneState: { available: true }, hosts: null }] });
  // Services report every 10 s; the last report is a little before now.
  const reported = Math.floor(nowMs / 10_000) * 10_000;
  return jsonReply(200, {
    availabilityZoneInfo: [
      {
        zoneName: 'internal',
        zoneState: { available: true },
        hosts: { [EMULATOR_HOST]: { 'nova-conductor': service(reported), 'nova-scheduler': service(reported) } },
      },
      { zoneName: 'nova', zoneState: { available: true }, hosts: { [EMULATOR_HOST]: { 'nova-compute': service(reported) } } },
    ],
  });
}
