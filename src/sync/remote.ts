import { DestinationError, type RemoteField } from '../../destinations/destination.js';
import type { LogicalType } from '../dialects/dialect.js';
import type { Logger } from '../log/logger.js';
import { redactor } from '../log/redact.js';
import { Problems, type FieldPath } from '../project/problems.js';
import type { DestinationDef, SyncDef } from './load.js';

/**
 * `tideline validate --remote`: every enabled sync whose destination type can list its fields (`remoteFields`) is
 * checked against what the API (or its emulator, with `--sandbox`) says the object has. A mapped field the object
 * lacks is reported — or created, when the sync says `create_missing_fields: true` and the type can
 * (`createField`); a read-only one is always reported. Problems are located at the field in the sync file.
 *
 * Names are compared as the APIs compare them: exactly, else ignoring case (Salesforce field names are
 * case-insensitive, Brevo upper-cases attribute names; HubSpot's checkSync already requires lower-case names).
 */
export interface RemoteCheckOptions {
  readonly logger: Logger;
  /** The config to ask with (the sandbox's, pointing at an emulator), else the destination's own. */
  readonly configFor?: (destination: DestinationDef) => unknown;
  /** Logical types of a model's columns, for the type of a created field. */
  readonly columnType?: (model: string, column: string) => LogicalType | undefined;
  readonly timeoutMs?: number;
  /** Project root, for relative paths in destination configs (a key file). */
  readonly root?: string;
}

export interface RemoteCheckResult {
  readonly problems: Problems;
  /** Syncs checked. */
  readonly checked: number;
  /** Fields created, as `sync: field`. */
  readonly created: readonly string[];
}

export async function checkRemoteFields(syncs: readonly SyncDef[], options: RemoteCheckOptions): Promise<RemoteCheckResult> {
  const problems = new Problems();
  const created: string[] = [];
  let checked = 0;
  for (const sync of syncs) {
    const type = sync.destination.type;
    if (!sync.enabled || !type.remoteFields) continue;
    checked++;
    const { file, path } = sync.origin;
    const at = (rel: FieldPath) => [...path, ...rel];
    const config = options.configFor?.(sync.destination) ?? sync.destination.config;
    const context = () => ({ logger: options.logger, signal: AbortSignal.timeout(options.timeoutMs ?? 60_000), destination: sync.destination.name, ...(options.root === undefined ? {} : { root: options.root }) });
    let remote: readonly RemoteField[];
    try {
      remote = await type.remoteFields(config, sync.object, context());
    } catch (error) {
      if (!(error instanceof DestinationError)) throw error;
      problems.error('remote-unavailable', `could not list the fields of ${type.type} object "${sync.object}": ${redactor.scrub(error.message)}`, file.locate(at(['object'])), at(['object']));
      continue;
    }
    const find = (name: string) => remote.find((f) => f.name === name) ?? remote.find((f) => f.name.toLowerCase() === name.toLowerCase());
    const keyAt: FieldPath = sync.key.at.length > 1 ? ['key', 'field'] : ['key'];
    const mapped = [{ name: sync.key.name, column: sync.key.column as string | undefined, place: keyAt, isKey: true }, ...sync.fields.map((f) => ({ name: f.name, column: f.column, place: ['fields', f.name] as FieldPath, isKey: false }))];
    for (const field of mapped) {
      const where = field.isKey ? file.locate(at(field.place)) : file.locateKey(at(field.place));
      const found = find(field.name);
      if (found?.readOnly && !field.isKey) {
        problems.error('read-only-field', `${type.type} ${sync.object} field "${found.name}" is read-only${found.type ? ` (${found.type})` : ''}: a sync cannot write it`, where, at(field.place));
        continue;
      }
      if (found) continue;
      if (sync.options.create_missing_fields && type.createField && !field.isKey) {
        try {
          const logical = field.column === undefined ? undefined : options.columnType?.(sync.model, field.column);
          await type.createField(config, sync.object, { name: field.name, type: logical }, context());
          created.push(`${sync.name}: ${field.name}`);
          options.logger.info({ sync: sync.name, field: field.name }, `${sync.name}: created ${type.type} field "${field.name}" on ${sync.object}`);
        } catch (error) {
          if (!(error instanceof DestinationError)) throw error;
          problems.error('create-field-failed', `could not create ${type.type} field "${field.name}": ${redactor.scrub(error.message)}`, where, at(field.place));
        }
        continue;
      }
      const hint = sync.options.create_missing_fields && !type.createField ? ` (${type.type} fields cannot be created through its API: create it in ${type.type})` : type.createField ? '; create it, or set `options.create_missing_fields: true`' : '';
      problems.error('unknown-field', `${type.type} ${sync.object} has no field "${field.name}"${hint}`, where, at(field.place));
    }
  }
  return { problems, checked, created };
}
