// "KEY=value" lines ⇄ maps, for labels and variables typed into a textarea.
export function parseKeyValues(text: string): { map: Record<string, string>; errors: string[] } {
  const map: Record<string, string> = {};
  const errors: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) {
      errors.push(`Line ${i + 1}: expected KEY=value`);
      return;
    }
    map[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  });
  return { map, errors };
}

export const formatKeyValues = (map: Record<string, string> | null | undefined) =>
  Object.entries(map ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
