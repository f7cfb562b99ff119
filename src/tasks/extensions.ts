// The file extensions a task may have: one list for the loader, the manifest's file check and the recipe hash.

/** A task "nginx" is the first of tasks/nginx.ts, .mts, .js, .mjs that exists. */
export const TASK_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'] as const;

/** The extension of a task file name, or undefined when it has none of them. */
export function taskExtension(name: string): (typeof TASK_EXTENSIONS)[number] | undefined {
  return TASK_EXTENSIONS.find((e) => name.endsWith(e));
}
