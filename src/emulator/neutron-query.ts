// Neutron's list query: `fields=` narrows each item (repeatable), every other field is an exact-match filter (repeat = any of).

const PAGING = ['limit', 'marker', 'sort_key', 'sort_dir', 'page_reverse'];

export function neutronList<T extends Record<string, unknown>>(items: T[], pairs: Array<[string, string]>): Array<Partial<T>> {
  const wanted = new Map<string, string[]>();
  const fields: string[] = [];
  for (const [k, v] of pairs) {
    if (k === 'fields') fields.push(v);
    else if (!PAGING.includes(k)) wanted.set(k, [...(wanted.get(k) ?? []), v]);
  }
  const shown = items.filter((item) =>
    [...wanted].every(([k, values]) => {
      const field = item[k];
      // A field the view does not have is not filtered on (Neutron would refuse an unknown filter).
      if (field === undefined) return true;
      return values.some((v) => {
        if (field === null) return v === '' || v === 'None';
        if (typeof field === 'boolean') return String(field) === v.toLowerCase();
        return String(field) === v;
      });
    }),
  );
  if (fields.length === 0) return shown;
  return shown.map((item) => Object.fromEntries(fields.filter((f) => f in item).map((f) => [f, item[f]])) as Partial<T>);
}
