import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parse as parseCsv } from 'csv-parse/sync';
import type { VendorSchema } from '../emulator-kit/contract.js';
import type { Exchange } from '../emulator-kit/server.js';
import { CSV_CONTENT_TYPE, JOB_STATES, LINE_ENDINGS, RESULT_COLUMNS, SALESFORCE_COLLECTION_LIMIT, TOKEN_PATH, type BulkResultKind } from './protocol.js';

/**
 * Salesforce's documented shapes of the operations Tideline uses. Salesforce publishes no machine-readable schema of
 * these REST resources (no OpenAPI document, no generated SDK on npm), so each operation's request and answer are
 * written here from its page of the REST API Developer Guide or the Bulk API 2.0 Developer Guide (API 62.0; read
 * 2026-12-06), as JSON Schema checked with ajv: declarative, close to how the pages list properties, and ajv's errors
 * name the path and the unknown property. Objects the docs define fully are closed (`additionalProperties: false`);
 * an sObject record's fields are the org's own, so any API name is taken there. CSV bodies (Bulk uploads and results)
 * are checked by their header row. An operation not listed here is itself a problem: the adapter cannot call an
 * endpoint nobody checked.
 */

const REST = 'https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest';
const BULK = 'https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch';
const SOAP = 'https://developer.salesforce.com/docs/atlas.en-us.api.meta/api';

type Schema = Record<string, unknown>;

const string: Schema = { type: 'string' };
const integer: Schema = { type: 'integer' };
const boolean: Schema = { type: 'boolean' };
const strings: Schema = { type: 'array', items: string };
/** A closed object: the properties listed, `required` among them, nothing else. */
const closed = (properties: Record<string, Schema>, required: readonly string[] = []): Schema => ({ type: 'object', properties, required, additionalProperties: false });
/** Field API names: letters, digits and underscores, starting with a letter (custom ones end `__c`). */
const API_NAME = '^[A-Za-z][A-Za-z0-9_]*$';

/** REST errors: `[{"message", "errorCode", "fields"?}]` ("Status Codes and Error Responses", errorcodes.htm). */
const restErrors: Schema = { type: 'array', items: closed({ message: string, errorCode: string, fields: strings }, ['message', 'errorCode']) };

/**
 * An sObject record as a request carries it: `attributes: {type}` (required by sObject Collections, "each record
 * must have an attributes property with a type"), then fields by API name.
 */
const recordIn = (needsId: boolean): Schema => ({
  type: 'object',
  properties: { attributes: closed({ type: string, url: string }, ['type']), ...(needsId ? { Id: string } : {}) },
  required: needsId ? ['attributes', 'Id'] : ['attributes'],
  propertyNames: { pattern: API_NAME },
});
/** A record as query and retrieve answer it: `attributes: {type, url}`, then its fields. */
const recordOut: Schema = { type: 'object', properties: { attributes: closed({ type: string, url: string }, ['type', 'url']) }, required: ['attributes'], propertyNames: { pattern: API_NAME } };

/**
 * sObject Collections request: `{"allOrNone": boolean, "records": [...]}`, at most 200 records
 * (resources_composite_sobjects_collections_create.htm, …_update.htm, …_upsert.htm).
 */
const collectionRequest = (needsId: boolean): Schema => closed({ allOrNone: boolean, records: { type: 'array', minItems: 1, maxItems: SALESFORCE_COLLECTION_LIMIT, items: recordIn(needsId) } }, ['records']);
/** Their answer: one SaveResult / UpsertResult per record: `id`, `success`, `errors[{statusCode, message, fields}]`, `created` (upsert). */
const saveResults: Schema = {
  type: 'array',
  items: closed({ id: string, success: boolean, created: boolean, errors: { type: 'array', items: closed({ statusCode: string, message: string, fields: strings }, ['statusCode', 'message']) } }, ['success', 'errors']),
};

/**
 * A Bulk API 2.0 job's info, as Create a Job, Upload Complete and Get Job Info answer it (create_job.htm,
 * close_job.htm, get_job_info.htm; the counters and times only in Get Job Info).
 */
const jobInfo: Schema = closed(
  {
    id: string,
    operation: { enum: ['insert', 'delete', 'hardDelete', 'update', 'upsert'] },
    object: string,
    createdById: string,
    createdDate: string,
    systemModstamp: string,
    state: { enum: [...JOB_STATES] },
    externalIdFieldName: string,
    concurrencyMode: { enum: ['Parallel'] },
    contentType: { enum: ['CSV'] },
    apiVersion: { type: 'number' },
    jobType: { enum: ['BigObjectIngest', 'Classic', 'V2Ingest'] },
    contentUrl: string,
    lineEnding: { enum: Object.keys(LINE_ENDINGS) },
    columnDelimiter: { enum: ['BACKQUOTE', 'CARET', 'COMMA', 'PIPE', 'SEMICOLON', 'TAB'] },
    assignmentRuleId: string,
    numberRecordsProcessed: integer,
    numberRecordsFailed: integer,
    retries: integer,
    totalProcessingTime: integer,
    apiActiveProcessingTime: integer,
    apexProcessingTime: integer,
    errorMessage: string,
  },
  ['id', 'operation', 'object', 'state'],
);

/** Create a Job's request body (create_job.htm): `externalIdFieldName` "Required for upsert operations". */
const createJob: Schema = {
  ...closed(
    {
      object: string,
      operation: { enum: ['insert', 'delete', 'hardDelete', 'update', 'upsert'] },
      externalIdFieldName: string,
      contentType: { enum: ['CSV'] },
      lineEnding: { enum: Object.keys(LINE_ENDINGS) },
      columnDelimiter: { enum: ['BACKQUOTE', 'CARET', 'COMMA', 'PIPE', 'SEMICOLON', 'TAB'] },
      assignmentRuleId: string,
    },
    ['object', 'operation'],
  ),
  if: { properties: { operation: { const: 'upsert' } } },
  then: { properties: { externalIdFieldName: string }, required: ['externalIdFieldName'] },
};

/** DescribeSObjectResult's Field (SOAP API Developer Guide, "Field", which REST describe returns as JSON). */
const describeField: Schema = {
  type: 'object',
  properties: { name: string, type: { enum: ['address', 'anyType', 'base64', 'boolean', 'combobox', 'complexvalue', 'currency', 'date', 'datetime', 'double', 'email', 'encryptedstring', 'id', 'int', 'location', 'long', 'multipicklist', 'percent', 'phone', 'picklist', 'reference', 'string', 'textarea', 'time', 'url'] }, createable: boolean, updateable: boolean, externalId: boolean, idLookup: boolean, nillable: boolean },
  required: ['name', 'type'],
  propertyNames: {
    enum: [
      ...['aggregatable', 'aiPredictionField', 'autoNumber', 'byteLength', 'calculated', 'calculatedFormula', 'cascadeDelete', 'caseSensitive', 'compoundFieldName', 'controllerName', 'createable', 'custom'],
      ...['defaultValue', 'defaultValueFormula', 'defaultedOnCreate', 'dependentPicklist', 'deprecatedAndHidden', 'digits', 'displayLocationInDecimal', 'encrypted', 'externalId', 'extraTypeInfo', 'filterable'],
      ...['filteredLookupInfo', 'formulaTreatNullNumberAsZero', 'groupable', 'highScaleNumber', 'htmlFormatted', 'idLookup', 'inlineHelpText', 'label', 'length', 'mask', 'maskType', 'name', 'nameField'],
      ...['namePointing', 'nillable', 'permissionable', 'picklistValues', 'polymorphicForeignKey', 'precision', 'queryByDistance', 'referenceTargetField', 'referenceTo', 'relationshipName'],
      ...['relationshipOrder', 'restrictedDelete', 'restrictedPicklist', 'scale', 'searchPrefilterable', 'soapType', 'sortable', 'type', 'unique', 'updateable', 'writeRequiresMasterRead'],
    ],
  },
};
/** DescribeSObjectResult (SOAP API Developer Guide, "DescribeSObjectResult"; REST resources_sobject_describe.htm). */
const describeResult: Schema = {
  type: 'object',
  properties: { name: string, fields: { type: 'array', items: describeField } },
  required: ['name', 'fields'],
  propertyNames: {
    enum: [
      ...['actionOverrides', 'activateable', 'associateEntityType', 'associateParentEntity', 'childRelationships', 'compactLayoutable', 'createable', 'custom', 'customSetting', 'deepCloneable'],
      ...['defaultImplementation', 'deletable', 'deprecatedAndHidden', 'extendedBy', 'extendsInterfaces', 'feedEnabled', 'fields', 'hasSubtypes', 'implementedBy', 'implementsInterfaces', 'isInterface'],
      ...['isSubtype', 'keyPrefix', 'label', 'labelPlural', 'layoutable', 'listviewable', 'lookupLayoutable', 'mergeable', 'mruEnabled', 'name', 'namedLayoutInfos', 'networkScopeFieldName'],
      ...['queryable', 'recordTypeInfos', 'replicateable', 'retrieveable', 'searchLayoutable', 'searchable', 'sobjectDescribeOption', 'supportedScopes', 'triggerable', 'undeletable', 'updateable', 'urls'],
    ],
  },
};

/** `GET /limits`: each limit by name, `{Max, Remaining}`, some with the same per connected app (resources_limits.htm). */
const limitValue = (nested: boolean): Schema => ({
  type: 'object',
  properties: { Max: integer, Remaining: integer },
  required: ['Max', 'Remaining'],
  additionalProperties: nested ? limitValue(false) : false,
});

/** The OAuth token endpoint's answer (both flows) and refusal (RFC 6749 §5.2), protocol.ts TokenResponse / TokenError. */
const tokenAnswer: Schema = closed({ access_token: string, instance_url: string, id: string, token_type: string, scope: string, issued_at: string, signature: string }, ['access_token', 'instance_url']);
const tokenError: Schema = closed({ error: string, error_description: string }, ['error']);

/** How a request or an answer body is written. */
type Body = { readonly json: Schema } | { readonly csv: BulkResultKind | 'upload' } | { readonly form: Readonly<Record<string, readonly string[]>> } | 'none';

interface Operation {
  readonly name: string;
  readonly method: string;
  /** The path after `/services/data/vXX.X` (the token endpoint: the whole path). */
  readonly path: RegExp;
  readonly doc: string;
  /** Query parameters the operation takes, and those it requires. */
  readonly query?: { readonly allowed: readonly string[]; readonly required?: readonly string[] };
  readonly request: Body;
  /** The answer of a success. */
  readonly response: Body;
  /** The status of a success (default 200). */
  readonly status?: number;
  /** Errors are REST error arrays, unless the operation says otherwise. */
  readonly error?: Schema;
  /** The body's content type, and what the request must accept. */
  readonly contentType?: string;
  readonly accept?: string;
}

const OPERATIONS: readonly Operation[] = [
  {
    name: 'OAuth token',
    method: 'POST',
    path: new RegExp(`^${TOKEN_PATH}$`),
    doc: 'https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm and …id=sf.remoteaccess_oauth_refresh_token_flow.htm',
    request: { form: { 'urn:ietf:params:oauth:grant-type:jwt-bearer': ['grant_type', 'assertion'], refresh_token: ['grant_type', 'refresh_token', 'client_id', 'client_secret', 'format'] } },
    response: { json: tokenAnswer },
    error: tokenError,
  },
  { name: 'Limits', method: 'GET', path: /^\/limits\/?$/, doc: `${REST}/resources_limits.htm`, request: 'none', response: { json: { type: 'object', additionalProperties: limitValue(true) } } },
  { name: 'sObject Describe', method: 'GET', path: /^\/sobjects\/\w+\/describe\/?$/, doc: `${REST}/resources_sobject_describe.htm and ${SOAP}/sforce_api_calls_describesobjects_describesobjectresult.htm`, request: 'none', response: { json: describeResult } },
  { name: 'sObject Rows (retrieve)', method: 'GET', path: /^\/sobjects\/\w+\/\w+$/, doc: `${REST}/resources_sobject_retrieve.htm`, query: { allowed: ['fields'] }, request: 'none', response: { json: recordOut } },
  {
    name: 'Query',
    method: 'GET',
    path: /^\/query\/?$/,
    doc: `${REST}/resources_query.htm`,
    query: { allowed: ['q'], required: ['q'] },
    request: 'none',
    response: { json: closed({ totalSize: integer, done: boolean, nextRecordsUrl: string, records: { type: 'array', items: recordOut } }, ['totalSize', 'done', 'records']) },
  },
  { name: 'sObject Collections upsert', method: 'PATCH', path: /^\/composite\/sobjects\/\w+\/\w+$/, doc: `${REST}/resources_composite_sobjects_collections_upsert.htm`, request: { json: collectionRequest(false) }, response: { json: saveResults } },
  { name: 'sObject Collections create', method: 'POST', path: /^\/composite\/sobjects\/?$/, doc: `${REST}/resources_composite_sobjects_collections_create.htm`, request: { json: collectionRequest(false) }, response: { json: saveResults } },
  { name: 'sObject Collections update', method: 'PATCH', path: /^\/composite\/sobjects\/?$/, doc: `${REST}/resources_composite_sobjects_collections_update.htm`, request: { json: collectionRequest(true) }, response: { json: saveResults } },
  {
    name: 'sObject Collections delete',
    method: 'DELETE',
    path: /^\/composite\/sobjects\/?$/,
    doc: `${REST}/resources_composite_sobjects_collections_delete.htm`,
    query: { allowed: ['ids', 'allOrNone'], required: ['ids'] },
    request: 'none',
    response: { json: saveResults },
  },
  { name: 'Bulk 2.0 Create a Job', method: 'POST', path: /^\/jobs\/ingest\/?$/, doc: `${BULK}/create_job.htm`, request: { json: createJob }, response: { json: jobInfo } },
  { name: 'Bulk 2.0 Upload Job Data', method: 'PUT', path: /^\/jobs\/ingest\/\w+\/batches\/?$/, doc: `${BULK}/upload_job_data.htm`, request: { csv: 'upload' }, response: 'none', status: 201, contentType: CSV_CONTENT_TYPE },
  { name: 'Bulk 2.0 Upload Complete', method: 'PATCH', path: /^\/jobs\/ingest\/\w+\/?$/, doc: `${BULK}/close_job.htm`, request: { json: closed({ state: { enum: ['UploadComplete', 'Aborted'] } }, ['state']) }, response: { json: jobInfo } },
  { name: 'Bulk 2.0 Get Job Info', method: 'GET', path: /^\/jobs\/ingest\/\w+\/?$/, doc: `${BULK}/get_job_info.htm`, request: 'none', response: { json: jobInfo } },
  ...(['successfulResults', 'failedResults', 'unprocessedrecords'] as const).map(
    (kind): Operation => ({
      name: `Bulk 2.0 ${kind}`,
      method: 'GET',
      path: new RegExp(`^/jobs/ingest/\\w+/${kind}/?$`),
      doc: `${BULK}/${{ successfulResults: 'get_job_successful_results', failedResults: 'get_job_failed_results', unprocessedrecords: 'get_job_unprocessed_results' }[kind]}.htm`,
      request: 'none',
      response: { csv: kind },
      accept: CSV_CONTENT_TYPE,
    }),
  ),
];

/** `/services/data/vXX.X/<rest>` → `<rest>`; the token endpoint as it is. */
const DATA_PATH = /^\/services\/data\/v\d+\.\d(\/.*)$/;

/** The documented shapes as the contract suite's VendorSchema, and for Salesforce's own tests. */
export function salesforceDocumentedShapes(): VendorSchema {
  const ajv = new Ajv({ allErrors: true, strict: true });
  const compiled = new Map<Schema, ValidateFunction>();
  const validate = (schema: Schema, value: unknown, side: string): string[] => {
    let fn = compiled.get(schema);
    if (!fn) compiled.set(schema, (fn = ajv.compile(schema)));
    return fn(value) ? [] : (fn.errors ?? []).map((e) => `${side}${e.instancePath || ''}: ${describeError(e)}`);
  };
  /** The header of each job's upload, by job id: the result CSVs repeat it after their own columns. */
  const uploaded = new Map<string, string[]>();

  const checkCsv = (kind: BulkResultKind | 'upload', text: unknown, side: string, jobId: string): string[] => {
    if (typeof text !== 'string') return [`${side}: a CSV text is documented, got ${text === undefined ? 'no body' : typeof text}`];
    let rows: string[][];
    try {
      rows = parseCsv(text, { relax_column_count: false, bom: true }) as string[][];
    } catch (error) {
      return [`${side}: not CSV as documented (${(error as Error).message.split('\n')[0]})`];
    }
    const header = rows[0];
    if (!header) return [`${side}: no header row`];
    if (kind === 'upload') {
      const bad = header.filter((c) => !new RegExp(API_NAME).test(c));
      uploaded.set(jobId, header);
      return bad.length ? [`${side}: header columns ${bad.map((c) => JSON.stringify(c)).join(', ')} are not field API names`] : [];
    }
    const own = RESULT_COLUMNS[kind];
    const problems: string[] = [];
    own.forEach((column, i) => {
      if (header[i] !== column) problems.push(`${side}: column ${i + 1} of the ${kind} header is ${JSON.stringify(header[i] ?? null)}, documented "${column}" (header: ${header.join(',')})`);
    });
    const rest = header.slice(own.length);
    const stray = rest.filter((c) => c.startsWith('sf__'));
    if (stray.length) problems.push(`${side}: ${kind} has no documented column ${stray.join(', ')}`);
    const original = uploaded.get(jobId);
    if (original && rest.join(',') !== original.join(',')) problems.push(`${side}: ${kind} should repeat the uploaded columns (${original.join(',')}) after its own, got ${rest.join(',')}`);
    return problems;
  };

  const checkBody = (body: Body, value: unknown, side: string, jobId: string): string[] => {
    if (body === 'none') return value === undefined || value === '' ? [] : [`${side}: the operation documents no body`];
    if ('json' in body) return typeof value === 'string' ? [`${side}: JSON is documented, got text`] : validate(body.json, value, side);
    if ('csv' in body) return checkCsv(body.csv, value, side, jobId);
    if (typeof value !== 'string') return [`${side}: a form (application/x-www-form-urlencoded) is documented`];
    const form = new URLSearchParams(value);
    const grant = form.get('grant_type') ?? '';
    const allowed = body.form[grant];
    if (!allowed) return [`${side}: grant_type ${JSON.stringify(grant)} is not a documented grant`];
    return [...form.keys()].filter((k) => !allowed.includes(k)).map((k) => `${side}: the ${grant} grant has no parameter "${k}"`);
  };

  return {
    source: 'Salesforce REST API and Bulk API 2.0 Developer Guides (API 62.0): documented shapes in destinations/salesforce/documented-shapes.ts',
    check(exchange: Exchange): string[] {
      const rest = exchange.path === TOKEN_PATH ? exchange.path : DATA_PATH.exec(exchange.path)?.[1];
      const operation = rest === undefined ? undefined : OPERATIONS.find((o) => o.method === exchange.method && o.path.test(rest));
      if (!operation) return [`no documented Salesforce operation is ${exchange.method} ${exchange.path}`];
      const at = `${operation.name} (${operation.doc})`;
      const jobId = /^\/jobs\/ingest\/(\w+)/.exec(rest ?? '')?.[1] ?? '';
      const problems: string[] = [];
      const names = [...new Set(exchange.query.keys())];
      for (const name of names) if (!(operation.query?.allowed ?? []).includes(name)) problems.push(`query: ${at} has no parameter "${name}"`);
      for (const name of operation.query?.required ?? []) if (!exchange.query.has(name)) problems.push(`query: ${at} requires "${name}"`);
      const header = (name: string) => String(exchange.headers[name] ?? '');
      if (operation.contentType && !header('content-type').startsWith(operation.contentType)) problems.push(`request: ${at} takes Content-Type ${operation.contentType}, got ${header('content-type') || 'none'}`);
      if (operation.accept && !header('accept').includes(operation.accept)) problems.push(`request: ${at} answers ${operation.accept}: the request must accept it, it accepts ${header('accept') || 'anything'}`);
      problems.push(...checkBody(operation.request, exchange.request, 'request', jobId).map((p) => `${p} — ${at}`));
      const ok = exchange.status === (operation.status ?? 200);
      if (exchange.status >= 200 && exchange.status < 300 && !ok) problems.push(`response: ${at} answers ${operation.status ?? 200}, not ${exchange.status}`);
      const answer = ok ? checkBody(operation.response, exchange.response, 'response', jobId) : exchange.status >= 300 ? validate(operation.error ?? restErrors, exchange.response, 'response') : [];
      problems.push(...answer.map((p) => `${p} — ${at}`));
      return problems;
    },
  };
}

function describeError(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'additionalProperties') return `no documented property "${String(params['additionalProperty'])}"`;
  if (error.keyword === 'propertyNames') return `no documented property "${String(params['propertyName'])}"`;
  if (error.keyword === 'enum') return `${error.message ?? 'not allowed'} (${(params['allowedValues'] as unknown[]).slice(0, 12).join(', ')})`;
  return error.message ?? error.keyword;
}
