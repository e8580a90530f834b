import { rejected, type ConfigProblem, type FieldValue, type OutboundRecord, type RecordOutcome, type SyncShape } from '../kit/index.js';
import { EVENT_JOB, IDENTIFIERS, isIdentifier, LOCATION_ATTRIBUTES, PROFILE_ATTRIBUTES, toE164 } from './protocol.js';

/**
 * Klaviyo events (the `events` mode) through Bulk Create Events: facts in protocol.ts (EVENT_JOB). Each record is one
 * event of a metric named by the sync's event name, at the event's time, for the profile its identifiers name; the
 * record's key is the event's `unique_id`, on which Klaviyo keeps one event per profile and metric.
 *
 * Field names of an events sync:
 * - `email`, `phone_number`, `external_id`: the profile's identifiers (at least one mapped); a phone number is
 *   normalised to E.164 as for profiles;
 * - `value` (a number: the event's monetary value) and `value_currency` (ISO 4217): the event's own attributes;
 * - `profile.<attribute>` (first_name, last_name, organization, locale, title, image), `profile.location.<part>`
 *   and `profile.properties.<name>`: the profile, updated as the event is recorded;
 * - anything else, or `properties.<name>`: a property of the event (what a flow's e-mail or a segment reads).
 */
export const KLAVIYO_EVENTS_OBJECT = 'events';
/** The field the event id is written to: Klaviyo's de-duplication key. */
export const EVENT_KEY_FIELD = 'unique_id';

const EVENT_ATTRIBUTES = ['value', 'value_currency'] as const;
const PROFILE_PREFIX = 'profile.';

/** Problems of an events sync: its object, its key, a profile identifier, the profile attributes it names. */
export function checkEventSync(sync: SyncShape, consentFields: readonly string[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (sync.object !== KLAVIYO_EVENTS_OBJECT) problems.push({ at: ['object'], message: `the object of a Klaviyo events sync is "${KLAVIYO_EVENTS_OBJECT}" (the metric is the sync's event name)` });
  if (sync.keyField !== EVENT_KEY_FIELD) problems.push({ at: ['key'], message: `a Klaviyo event's id is its ${EVENT_KEY_FIELD} (Klaviyo keeps one event per unique_id, profile and metric): write the key to "${EVENT_KEY_FIELD}", not "${sync.keyField}"` });
  if (!sync.fields.some(isIdentifier)) problems.push({ at: ['fields'], message: `an event belongs to a profile: map one of ${IDENTIFIERS.join(', ')}` });
  for (const field of sync.fields) {
    if (consentFields.includes(field)) problems.push({ at: ['fields', field], message: `${field} subscribes profiles in upsert and audience syncs: an event sync does not send consent` });
    if (!field.startsWith(PROFILE_PREFIX)) continue;
    const name = field.slice(PROFILE_PREFIX.length);
    const known =
      (PROFILE_ATTRIBUTES as readonly string[]).includes(name) ||
      (name.startsWith('location.') && (LOCATION_ATTRIBUTES as readonly string[]).includes(name.slice(9))) ||
      (name.startsWith('properties.') && name.length > 11);
    if (!known) problems.push({ at: ['fields', field], message: `profile. takes ${PROFILE_ATTRIBUTES.join(', ')}, location.<${LOCATION_ATTRIBUTES.join('|')}> or properties.<name>` });
  }
  return problems;
}

/** One entry of a Bulk Create Events job: a profile and its event. */
export interface EventEntry {
  readonly type: 'event-bulk-create';
  readonly attributes: {
    readonly profile: { readonly data: { readonly type: 'profile'; readonly attributes: Record<string, unknown> } };
    readonly events: { readonly data: readonly { readonly type: 'event'; readonly attributes: Record<string, unknown> }[] };
  };
}

/** The job entry of a `track` record, or the outcome of a record Klaviyo would refuse (never sent). */
export function eventEntry(record: OutboundRecord, defaultCountry: string | undefined): { readonly entry: EventEntry } | { readonly outcome: RecordOutcome } {
  if (!record.event) return { outcome: rejected('invalid_event', 'a track record carries its event name and time') };
  const name = record.event.name;
  if (name.length === 0 || name.length > EVENT_JOB.maxMetricName) return { outcome: rejected('invalid_name', `the event name (the metric) takes 1 to ${EVENT_JOB.maxMetricName} characters`) };
  const profile: Record<string, unknown> = {};
  const location: Record<string, FieldValue> = {};
  const profileProperties: Record<string, FieldValue> = {};
  const event: Record<string, unknown> = {};
  const properties: Record<string, FieldValue> = {};
  for (const [field, value] of Object.entries(record.fields)) {
    if (value === null || value === undefined) continue;
    if (field === 'phone_number') {
      const phone = typeof value === 'string' ? toE164(value, defaultCountry) : undefined;
      if (!phone) return { outcome: rejected('invalid_phone', `phone_number is not a valid phone number${defaultCountry ? '' : ' (set default_country for national numbers)'}`) };
      profile[field] = phone;
    } else if (isIdentifier(field)) profile[field] = value;
    else if ((EVENT_ATTRIBUTES as readonly string[]).includes(field)) {
      if (field === 'value' && typeof value !== 'number') return { outcome: rejected('invalid_value', 'value is a number (the monetary value of the event)') };
      event[field] = value;
    } else if (field.startsWith(`${PROFILE_PREFIX}location.`)) location[field.slice(PROFILE_PREFIX.length + 9)] = value;
    else if (field.startsWith(`${PROFILE_PREFIX}properties.`)) profileProperties[field.slice(PROFILE_PREFIX.length + 11)] = value;
    else if (field.startsWith(PROFILE_PREFIX)) profile[field.slice(PROFILE_PREFIX.length)] = value;
    else properties[field.startsWith('properties.') ? field.slice(11) : field] = value;
  }
  if (!IDENTIFIERS.some((k) => typeof profile[k] === 'string' && profile[k] !== '')) return { outcome: rejected('missing_identifier', `the event has none of ${IDENTIFIERS.join(', ')}`) };
  if (Object.keys(properties).length > EVENT_JOB.maxProperties) return { outcome: rejected('too_many_properties', `an event takes at most ${EVENT_JOB.maxProperties} properties`) };
  if (Object.keys(location).length) profile['location'] = location;
  if (Object.keys(profileProperties).length) profile['properties'] = profileProperties;
  return {
    entry: {
      type: 'event-bulk-create',
      attributes: {
        profile: { data: { type: 'profile', attributes: profile } },
        events: { data: [{ type: 'event', attributes: { properties, time: record.event.time, ...event, unique_id: record.key, metric: { data: { type: 'metric', attributes: { name } } } } }] },
      },
    },
  };
}

/** The body of one Bulk Create Events request. */
export function eventJob(entries: readonly EventEntry[]): unknown {
  return { data: { type: 'event-bulk-create-job', attributes: { 'events-bulk-create': { data: entries } } } };
}

/** Bytes a `track` record counts towards a request: its fields with the room its job entry takes. */
export function eventBytes(record: OutboundRecord): number {
  return Buffer.byteLength(JSON.stringify(record.fields)) + Buffer.byteLength(record.key) + Buffer.byteLength(record.event?.name ?? '') + ENTRY_BYTES;
}

/** The JSON:API envelope of one entry (types, profile, metric, time, unique_id keys), rounded up. */
const ENTRY_BYTES = 400;
