import { rejected, type ConfigProblem, type FieldValue, type OutboundRecord, type RecordOutcome, type SyncShape } from '../kit/index.js';
import { BRAZE_EVENT_OBJECTS, isBrazeEventObject, MAX_PROPERTY_CHARS, MAX_PURCHASE_QUANTITY, PURCHASE_FIELDS, USER_IDENTIFIERS, type BrazeEventObject } from './protocol.js';

/**
 * Braze events syncs (protocol.ts, BRAZE_EVENT_OBJECTS): object `events` (custom events, named by the sync's event
 * name) or `purchases` (the event name is the `product_id`: Braze groups purchases by it, and suggests a product or
 * order-level name such as "Completed Order"). Field names:
 * - `external_id`, `braze_id`, `email`, `phone`: who did it (at least one mapped); `app_id`: the app, if needed;
 * - purchases: `currency` (ISO 4217) and `price` (required), `quantity` (1 to 100);
 * - anything else, or `properties.<name>`: an event property.
 * Braze has no event id: the key (the event's id) is written to the properties under the key's field name, where
 * Liquid, segment extensions and exports can read it. Braze keeps every copy it receives.
 */

/** Keys Braze reads on an event or purchase object; a sync maps these to the object, not to its properties. */
const TOP_LEVEL = new Set<string>([...USER_IDENTIFIERS, 'app_id']);
/** Keys that come from the sync itself (its event name and time), never from a mapped field. */
const FROM_EVENT = ['name', 'product_id', 'time', 'properties', 'user_alias', '_update_existing_only'] as const;

export function checkEventSync(sync: SyncShape): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (!isBrazeEventObject(sync.object)) return [{ at: ['object'], message: `a Braze events sync sends ${BRAZE_EVENT_OBJECTS.join(' or ')}, not "${sync.object}"` }];
  if (!propertyName(sync.keyField) || TOP_LEVEL.has(sync.keyField)) problems.push({ at: ['key'], message: `Braze has no event id: the key is written to a property of the event, such as "event_id" (a name without a leading $, ≤ ${MAX_PROPERTY_CHARS} characters, not an identifier)` });
  if (!sync.fields.some((f) => (USER_IDENTIFIERS as readonly string[]).includes(f))) problems.push({ at: ['fields'], message: `an event belongs to a user: map one of ${USER_IDENTIFIERS.join(', ')}` });
  if (sync.object === 'purchases') {
    for (const required of ['currency', 'price']) if (!sync.fields.includes(required)) problems.push({ at: ['fields'], message: `a Braze purchase needs "${required}" (map it, or a constant)` });
  }
  for (const field of sync.fields) {
    if ((FROM_EVENT as readonly string[]).includes(field)) problems.push({ at: ['fields', field], message: `"${field}" comes from the sync (event.name is the ${sync.object === 'purchases' ? 'product_id' : 'event name'}, event.time its time): map it as a property under another name` });
    else if (!TOP_LEVEL.has(field) && !(sync.object === 'purchases' && (PURCHASE_FIELDS as readonly string[]).includes(field)) && !propertyName(field.startsWith('properties.') ? field.slice(11) : field)) {
      problems.push({ at: ['fields', field], message: `a Braze event property name is not empty, does not start with $ and has at most ${MAX_PROPERTY_CHARS} characters` });
    }
  }
  return problems;
}

function propertyName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_PROPERTY_CHARS && !name.startsWith('$');
}

/** The `events` or `purchases` object of a `track` record, or the outcome of a record Braze would refuse. */
export function eventObject(record: OutboundRecord, object: BrazeEventObject, keyField: string): { readonly object: Record<string, unknown> } | { readonly outcome: RecordOutcome } {
  if (!record.event) return { outcome: rejected('invalid_event', 'a track record carries its event name and time') };
  const out: Record<string, unknown> = object === 'purchases' ? { product_id: record.event.name } : { name: record.event.name };
  const properties: Record<string, FieldValue> = {};
  for (const [field, value] of Object.entries(record.fields)) {
    if (value === null || value === undefined) continue;
    // Identifiers are strings to Braze; a warehouse may hold a customer id as a number.
    if (TOP_LEVEL.has(field)) out[field] = String(value);
    // ISO 4217 codes are upper case to Braze; a warehouse may hold `eur`.
    else if (object === 'purchases' && field === 'currency' && typeof value === 'string') out[field] = value.trim().toUpperCase();
    else if (object === 'purchases' && (PURCHASE_FIELDS as readonly string[]).includes(field)) out[field] = value;
    else properties[field.startsWith('properties.') ? field.slice(11) : field] = value;
  }
  if (object === 'purchases') {
    if (typeof out['price'] !== 'number') return { outcome: rejected('invalid_price', 'price is a number in the currency (Braze requires it)') };
    const quantity = out['quantity'];
    if (quantity !== undefined && !(Number.isInteger(quantity) && (quantity as number) >= 1 && (quantity as number) <= MAX_PURCHASE_QUANTITY)) return { outcome: rejected('invalid_quantity', `quantity is a whole number from 1 to ${MAX_PURCHASE_QUANTITY}`) };
  }
  out['time'] = record.event.time;
  out['properties'] = { ...properties, [keyField]: record.key };
  return { object: out };
}
