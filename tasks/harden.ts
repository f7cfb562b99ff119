// Task harden: the one imagesync ships (src/tasks/library/harden.ts). In your own repository this file reads
// `export { default } from 'imagesync/tasks/harden';` — this repository is imagesync itself, so it points at the source.
export { default } from '../src/tasks/library/harden.js';
