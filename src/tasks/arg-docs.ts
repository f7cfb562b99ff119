// What `imagesync tasks` says about a task's arguments, read from its zod schema: name, description, default.
import * as z from 'zod';
import type { Task } from './define.js';

export interface TaskArgDoc {
  name: string;
  help: string;
}

interface JsonSchemaObject {
  properties?: Record<string, { description?: string; default?: unknown; type?: unknown }>;
  required?: string[];
}

/**
 * One line per argument from the task's `args` schema; undefined when it has none, or when the
 * schema is not one of this zod's (a task that brings its own copy): the description then speaks.
 */
export function argDocsFromSchema(task: Pick<Task, 'args'>): TaskArgDoc[] | undefined {
  if (!task.args) return undefined;
  let doc: JsonSchemaObject;
  try {
    // "input": what a manifest may write (keys with a default are optional there).
    doc = z.toJSONSchema(task.args as z.ZodType, { io: 'input', unrepresentable: 'any' }) as JsonSchemaObject;
  } catch {
    return undefined;
  }
  const required = new Set(doc.required ?? []);
  return Object.entries(doc.properties ?? {}).map(([name, p]) => {
    const suffix = p.default !== undefined ? ` (default ${JSON.stringify(p.default)})` : required.has(name) ? ' (required)' : '';
    return { name, help: `${p.description ?? ''}${suffix}`.trim() };
  });
}
