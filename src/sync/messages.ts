import type { Dialect } from '../dialects/dialect.js';
import { sql, type Sql } from '../dialects/sql.js';
import { isMessageChannel, type Channel } from '../project/channels.js';
import { DEFAULT_MESSAGE_TYPE } from '../project/pressure.js';
import { CONTACT_KEY_COLUMN, type MessageSource } from '../state/messages.js';
import { contactColumn } from './contact.js';
import type { SyncDef } from './load.js';
import type { ColumnTypes } from './mapping.js';

/**
 * What Tideline really sent, for marketing pressure: the records of a sync that are messages to contacts. A sync's
 * records are messages when they reach a contact on a channel and each accepted record is one message: an entry
 * into an audience (audience mode, op `added`) or an insert (insert mode). Mirror and upsert syncs keep a copy of
 * the customers up to date (a CRM, a table): they message nobody. Such a sync needs a channel (its own, its
 * audience's or its destination type's) and a contact column (src/sync/contact.ts); its change set then carries each
 * record's contact key, and the fold records its accepted entries in `sync_messages` (StateStore.applyJournal).
 */

/**
 * Whether the sync's accepted entries or inserts are messages, its contact column aside. Only a message channel's
 * records message someone: an ads audience entry, a CRM insert or an exclusion list reaches nobody's inbox, and
 * counting it would cap real messages (src/project/channels.ts).
 */
export function sendsMessages(sync: Pick<SyncDef, 'mode' | 'channel' | 'messages' | 'messageType'>): sync is typeof sync & { readonly channel: Channel } {
  // Not every event starts a message (a purchase sent to an e-mail tool may only feed its segments): an events
  // sync's events count as messages when the sync names their `message_type` (an abandoned-cart flow's e-mail).
  const mode = sync.mode === 'audience' || sync.mode === 'insert' || (sync.mode === 'events' && sync.messageType !== undefined);
  return mode && isMessageChannel(sync.channel) && sync.messages;
}

/** The sync's records as messages (with the model column holding the contact key), or undefined when they are not. */
export function messageSource(sync: SyncDef, types: ColumnTypes): (MessageSource & { readonly contact: string }) | undefined {
  if (!sendsMessages(sync)) return undefined;
  const channel = sync.channel;
  const contact = contactColumn(sync, types);
  if (contact === undefined) return undefined;
  return { model: sync.model, audience: sync.audience?.name, channel, type: sync.messageType ?? DEFAULT_MESSAGE_TYPE, contact };
}

/**
 * The change set's contact key column for the planner: in the mapped rows, the contact column as text; in the other
 * branches (invalid keys, removals), NULL. Undefined when the sync's records are not messages.
 */
export function contactKeyColumns(d: Dialect, sync: SyncDef, types: ColumnTypes): { readonly mapped: Sql; readonly none: Sql } | undefined {
  const source = messageSource(sync, types);
  if (!source) return undefined;
  return {
    mapped: sql`${d.cast(d.id(source.contact), 'string')} AS ${d.id(CONTACT_KEY_COLUMN)}`,
    none: sql`CAST(NULL AS ${d.type('string')})`,
  };
}
