// The record's fields as the server declares them (shared/fields.py), read from the Record
// schema of /api/openapi.json: their order, and which are shown as blocks of their own.
// Nothing here lists the fields; without the document the page falls back to the records' keys.

/** [{ name, block, reader, searchable }] in the server's order, from an OpenAPI document. */
export function fieldsFromOpenApi(doc) {
  const properties = doc?.components?.schemas?.Record?.properties;
  if (!properties || typeof properties !== "object") return [];
  return Object.entries(properties).map(([name, schema]) => ({
    name,
    block: Boolean(schema["x-block"]),
    reader: schema["x-reader"] !== false,
    searchable: Boolean(schema["x-searchable"]),
  }));
}

/** The field list, or [] when the document cannot be had (the page still works). */
export async function loadFields(fetchImpl = fetch) {
  try {
    const response = await fetchImpl("/api/openapi.json", { cache: "no-store" });
    return response.ok ? fieldsFromOpenApi(await response.json()) : [];
  } catch {
    return [];
  }
}

/** Column names for records: the declared fields present in them, in the declared order, then
 * any other keys they carry; with no declared fields, the records' keys in first-seen order. */
export function columnsFor(records, fields = []) {
  const present = new Set();
  for (const record of records) for (const name of Object.keys(record)) present.add(name);
  const declared = fields.map((f) => f.name);
  const known = declared.filter((name) => present.has(name));
  return known.concat([...present].filter((name) => !declared.includes(name)));
}
