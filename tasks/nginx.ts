// Task nginx: the one imagesync ships (src/tasks/library/nginx.ts). In your own repository this file reads
// `export { default } from 'imagesync/tasks/nginx';` — this repository is imagesync itself, so it points at the source.
export { default } from '../src/tasks/library/nginx.js';
