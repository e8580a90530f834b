import { describe, expect, it } from 'vitest';
import { loadProject } from '../src/project/loader.js';
import { CHANNELS } from '../src/project/channels.js';
import { suppressionsOn, type Suppression } from '../src/project/policies.js';
import { contactColumn } from '../src/sync/contact.js';
import { messageSource } from '../src/sync/messages.js';
import { runCli, tempProject } from './support/cli.js';

/**
 * Each sync knows the channel it reaches customers on and the column holding their key, which suppressions and
 * marketing pressure go by: the sync's own `channel:`/`contact:`, else its audience's channel and its audiences model's
 * key, else its destination type's channel (e-mail tools, CRMs, ads platforms) — files and webhooks have none.
 */
const MODELS = `sources:
  - name: people
    file: data/people.csv
models:
  - name: contacts
    kind: staging
    from: people
    columns:
      person_id: { from: person_id, type: string }
      customer_id: { from: customer_id, type: string }
      email: { from: email, type: string }
      orders: { from: orders, type: integer }
  - name: segments
    kind: audiences
    customers: contacts
    key: person_id
    consent: { sms: null, email: null }
    audiences:
      - { name: texts, channel: sms, where: { field: orders, gte: 1 } }
      - { name: buyers, channel: email, purpose: exclusion, where: { field: orders, gte: 1 } }
      - { name: lookalikes, channel: ads, where: { field: orders, gte: 1 } }
`;
const SYNCS = (extra = '') => `destinations:
  - { name: brevo, type: brevo, api_key: k }
  - { name: hubspot, type: hubspot, token: t }
  - { name: calls, type: file, path: out, format: csv }
syncs:
  - { name: texts_to_brevo, model: segments, audience: texts, destination: brevo, object: 'list:1', mode: audience, key: email }
  - { name: people_to_brevo, model: contacts, destination: brevo, object: contacts, mode: upsert, key: email }
  - { name: people_to_hubspot, model: contacts, destination: hubspot, object: contacts, mode: upsert, key: email }
  - { name: people_to_file, model: contacts, destination: calls, object: all, mode: upsert, key: person_id }
  - { name: calls_to_file, model: contacts, destination: calls, object: calls, mode: upsert, key: person_id, channel: phone, contact: person_id }
  - { name: buyers_to_brevo, model: segments, audience: buyers, destination: brevo, object: 'list:2', mode: audience, key: email }
  - { name: lookalikes_to_file, model: segments, audience: lookalikes, destination: calls, object: ads, mode: audience, key: person_id }
  - { name: crm_inserts, model: contacts, destination: calls, object: crm, mode: insert, key: person_id, channel: crm }
  - { name: welcome_texts, model: contacts, destination: calls, object: welcome, mode: insert, key: person_id, channel: sms }
${extra}`;
const CSV = 'person_id,customer_id,email,orders\np1,c1,a@x.org,2\np2,c2,b@x.org,0\n';

describe('sync channel and contact', () => {
  it('come from the sync, its audience, or its destination type', async () => {
    const root = tempProject({ 'tideline.yml': 'name: shop\n', 'data/people.csv': CSV, 'models/m.yml': MODELS, 'syncs/s.yml': SYNCS() });
    const project = await loadProject({ projectDir: root });
    const of = (name: string) => {
      const sync = project.syncs.get(name)!;
      return [sync.channel, sync.contact];
    };
    expect(of('texts_to_brevo')).toEqual(['sms', 'person_id']);
    expect(of('people_to_brevo')).toEqual(['email', undefined]);
    expect(of('people_to_hubspot')).toEqual(['crm', undefined]);
    expect(of('people_to_file')).toEqual([undefined, undefined]);
    expect(of('calls_to_file')).toEqual(['phone', 'person_id']);
    // Without a contact written or implied, `customer_id` serves when the model has it, else nothing.
    const people = new Map([['person_id', 'string' as const], ['customer_id', 'string' as const]]);
    expect(contactColumn(project.syncs.get('people_to_file')!, people)).toBe('customer_id');
    expect(contactColumn(project.syncs.get('people_to_file')!, new Map([['person_id', 'string' as const]]))).toBeUndefined();
    expect(contactColumn(project.syncs.get('calls_to_file')!, people)).toBe('person_id');
  });

  it('only entries and inserts on a message channel are messages for pressure: not ads, not a CRM, not an exclusion list', async () => {
    const root = tempProject({ 'tideline.yml': 'name: shop\n', 'data/people.csv': CSV, 'models/m.yml': MODELS, 'syncs/s.yml': SYNCS() });
    const project = await loadProject({ projectDir: root });
    const types = new Map([['person_id', 'string' as const], ['customer_id', 'string' as const], ['email', 'string' as const]]);
    const messages = [...project.syncs.values()].filter((s) => messageSource(s, types) !== undefined).map((s) => s.name).sort();
    expect(messages).toEqual(['texts_to_brevo', 'welcome_texts']);
    expect(messageSource(project.syncs.get('welcome_texts')!, types)).toMatchObject({ channel: 'sms', contact: 'customer_id' });
  });

  it("a suppression without channels reaches every channel but the CRM's", () => {
    const rule = { name: 'complainers', from: 'tickets', key: 'customer_id' } as Suppression;
    const policies = { suppressions: [rule], preferences: undefined, file: undefined };
    expect(CHANNELS.filter((c) => suppressionsOn(policies, c).length > 0)).toEqual(['email', 'sms', 'ads', 'phone', 'push', 'mail']);
    expect(suppressionsOn({ ...policies, suppressions: [{ ...rule, channels: ['crm'] }] }, 'crm')).toHaveLength(1);
  });

  it('a contact column the model lacks, or an unknown channel, is a located error', async () => {
    const extra = `  - { name: bad_contact, model: contacts, destination: calls, object: x, mode: upsert, key: person_id, contact: persn_id }
  - { name: bad_channel, model: contacts, destination: calls, object: y, mode: upsert, key: person_id, channel: fax }
`;
    const root = tempProject({ 'tideline.yml': 'name: shop\n', 'data/people.csv': CSV, 'models/m.yml': MODELS, 'syncs/s.yml': SYNCS(extra) });
    const result = await runCli(['validate', '--log-format', 'pretty'], { cwd: root });
    expect(result.code).toBe(2);
    const errors = result.stderr.split('\n').filter((l) => l.startsWith('error:'));
    // The channel is wrong YAML, found on loading; columns are checked once the project loads.
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^error: syncs\/s\.yml:16:\d+\s+syncs\[10\]\.channel\s+.*"fax"/);
    const fixed = tempProject({ 'tideline.yml': 'name: shop\n', 'data/people.csv': CSV, 'models/m.yml': MODELS, 'syncs/s.yml': SYNCS(extra.split('\n')[0] + '\n') });
    const second = await runCli(['validate', '--log-format', 'pretty'], { cwd: fixed });
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/error: syncs\/s\.yml:15:\d+\s+syncs\[9\]\.contact\s+unknown column "persn_id" in model "contacts" \(did you mean "person_id"\?\)/);
  });
});
