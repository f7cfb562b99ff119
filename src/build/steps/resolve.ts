// Step: the source image, flavor, boot disk, zone, networks, ports and security groups, checked before anything is created (not found → the nearest names; ambiguous → error).
import { hint, ResolveError } from './resolve-names.js';
import { resolvePlacement } from './resolve-placement.js';
import type { Step } from '../runner.js';
import { chooseSshUser } from '../defaults.js';
import { selectSource, sourceRead, sourceSpecFor } from '../source.js';
import type { GlanceImage } from '../../openstack/glance.js';
import { recipeExtras, recipeFor } from '../recipe.js';
import type { BuildState } from '../state.js';
import { checkBootDisk } from '../preflight.js';

/** The source image in this target: by its name here, by the filter, or both; the nearest names when a name is not found. */
async function findSource(s: BuildState, signal: AbortSignal): Promise<GlanceImage> {
  const where = `${s.target.cloud}/${s.target.region}`;
  const { glance } = s.services;
  const spec = sourceSpecFor(s.image.source, s.target);
  const read = sourceRead(spec);
  if (!read) throw new ResolveError(`${where}: no source image for "${s.image.name}" here: name one for this cloud in source.image, or give source.filter`);
  const found = 'name' in read ? await glance.listByNames([read.name], signal) : await glance.listAll(read.query, signal);
  const choice = selectSource(found, spec);
  if (choice.ok) return choice.image;
  if ('name' in read && found.length === 0) {
    const all = await glance.listAll('images?status=active&limit=1000', signal);
    throw new ResolveError(`${where}: source image "${read.name}" not found; ${hint(read.name, all.map((i) => i.name ?? '').filter(Boolean))}`);
  }
  throw new ResolveError(`${where}: ${choice.problem}`);
}

/** Flavor against the source image, and the boot volume (type and zone checked in Cinder): every problem before anything is created. */
async function planBootDisk(s: BuildState, signal: AbortSignal): Promise<BuildState['volumePlan']> {
  const where = `${s.target.cloud}/${s.target.region}`;
  const check = checkBootDisk(s.sourceImage!, s.flavor!, s.settings.volume, s.settings.availabilityZone);
  if (check.problems.length) throw new ResolveError(`${where}: ${check.problems.join('; ')}`);
  const plan = check.volume;
  if (!plan) return undefined;
  const cinder = s.services.cinder;
  if (!cinder) throw new ResolveError(`${where}: ${s.settings.volume ? 'build.volume' : 'a volume-backed source image'} needs a block storage service (Cinder), and the catalog has none here`);
  if (plan.type !== undefined) {
    const types = await cinder.volumeTypes(signal);
    const type = types.find((t) => t.name === plan.type) ?? types.find((t) => t.id === plan.type);
    if (!type) throw new ResolveError(`${where}: volume type "${plan.type}" not found; ${hint(plan.type, types.map((t) => t.name))}`);
  }
  if (plan.availabilityZone !== undefined) {
    const zones = await cinder.availabilityZones(signal);
    if (!zones.includes(plan.availabilityZone)) {
      throw new ResolveError(`${where}: volume availability zone "${plan.availabilityZone}" not found in Cinder; ${hint(plan.availabilityZone, zones)}`);
    }
  }
  return plan;
}

/** The first step: everything a build needs is found (or the build stops) before anything is created. */
export const resolveInputs: Step<BuildState> = {
  name: 'resolve source image, flavor and network',
  async run(s, ctx) {
    const where = `${s.target.cloud}/${s.target.region}`;
    const { nova } = s.services;
    const flavorWanted = s.settings.flavor;
    // The lookups go out at once; their answers are judged below in this order, so the problem
    // reported first is the one a lookup at a time would report.
    const sourceP = findSource(s, ctx.signal);
    const flavorsP = flavorWanted ? nova.flavors(ctx.signal) : undefined;
    // Zone, networks, ports and security groups: judged after the flavor and the boot disk.
    const placementP = resolvePlacement(s, ctx);
    for (const pending of [flavorsP, placementP]) pending?.catch(() => undefined);
    s.sourceImage = await sourceP;
    const { extras, userData } = await recipeExtras(s.settings, s.manifestDir);
    s.userData = userData;
    // Stamp what is really built from: the source found now, not the one the plan saw.
    s.recipe = recipeFor(s.image, s.base, s.sourceImage.id, extras)!;
    ctx.log(`source image: ${s.sourceImage.id} "${s.sourceImage.name ?? ''}"`);

    // Without a login user the build would boot a server and wait for SSH until its deadline.
    const user = chooseSshUser(s.settings.ssh?.user, s.sourceImage);
    if (!user.ok) throw new ResolveError(`${where}: ${user.problem}`);
    if (!s.settings.ssh?.user) {
      s.settings = { ...s.settings, ssh: { ...s.settings.ssh, user: user.value } };
      ctx.log(`SSH user "${user.value}" from the ${user.from}`);
    }

    if (!flavorWanted || !flavorsP) throw new ResolveError(`${where}: no flavor for image "${s.image.name}": set build.flavor in the manifest (target or image)`);
    const flavors = await flavorsP;
    const flavor = flavors.find((f) => f.name === flavorWanted) ?? flavors.find((f) => f.id === flavorWanted);
    if (!flavor) throw new ResolveError(`${where}: flavor "${flavorWanted}" not found; ${hint(flavorWanted, flavors.map((f) => f.name))}`);
    s.flavor = flavor;
    s.volumePlan = await planBootDisk(s, ctx.signal);

    await placementP;
  },
};

export { ResolveError };
