import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { redactor } from '../../src/log/redact.js';
import { credentialName, renewingToken, requestToken, staticToken, type AccessTokenSource } from '../credentials.js';
import { AuthError, type ConfigProblem } from '../destination.js';
import { audienceFor, JWT_ALGORITHM, JWT_BEARER_GRANT, JWT_LIFETIME_SECONDS, REFRESH_TOKEN_GRANT, TOKEN_PATH } from './protocol.js';

/** The credential fields of a Salesforce destination (the rest of its config does not matter here). */
export interface SalesforceCredentialConfig {
  readonly instance_url?: string | undefined;
  readonly login_url: string;
  readonly access_token?: string | undefined;
  readonly client_id?: string | undefined;
  readonly username?: string | undefined;
  readonly private_key?: string | undefined;
  readonly private_key_file?: string | undefined;
  readonly client_secret?: string | undefined;
  readonly refresh_token?: string | undefined;
}

/** Which of the three kinds a config gives; the schema makes sure it gives exactly one, whole. */
export type SalesforceCredentialKind = 'access_token' | 'jwt_bearer' | 'refresh_token';

export function credentialKind(config: SalesforceCredentialConfig): SalesforceCredentialKind | undefined {
  const kinds = credentialKinds(config);
  return kinds.length === 1 ? kinds[0] : undefined;
}

/** The kinds a config touches, by the fields present: two is a conflict, none a missing credential. */
export function credentialKinds(config: SalesforceCredentialConfig): SalesforceCredentialKind[] {
  const kinds: SalesforceCredentialKind[] = [];
  if (config.access_token !== undefined) kinds.push('access_token');
  if (config.username !== undefined || config.private_key !== undefined || config.private_key_file !== undefined) kinds.push('jwt_bearer');
  if (config.refresh_token !== undefined || config.client_secret !== undefined) kinds.push('refresh_token');
  return kinds;
}

/** Where a destination is, for reading a key file and naming the credential in messages. */
export interface SalesforceAuthPlace {
  /** Project root: `private_key_file` is relative to it. */
  readonly root?: string | undefined;
  /** The destination's name in the project. */
  readonly destination?: string | undefined;
}

/**
 * The session's credentials: a token source, and the instance to call. The instance is the config's
 * `instance_url`, else the one the first token answer names (both OAuth flows return `instance_url`).
 */
export interface SalesforceAuth {
  readonly source: AccessTokenSource;
  instanceUrl(signal: AbortSignal): Promise<string>;
}

export function salesforceAuth(config: SalesforceCredentialConfig, place: SalesforceAuthPlace): SalesforceAuth {
  const kind = credentialKind(config);
  const name = (field: string) => credentialName(field, place.destination, 'salesforce');
  if (kind === 'access_token') {
    const instance = config.instance_url;
    return { source: staticToken(config.access_token!, name('access_token')), instanceUrl: async () => instance! };
  }
  if (kind === undefined) throw new AuthError(`${name('access_token')}: no credentials (give access_token, the JWT bearer fields, or a refresh token)`);

  let answeredInstance: string | undefined;
  const tokenUrl = `${config.login_url.replace(/\/$/, '')}${TOKEN_PATH}`;
  let form: () => Promise<Record<string, string>>;
  let credential: string;
  if (kind === 'jwt_bearer') {
    credential = name(config.private_key_file !== undefined ? 'private_key_file' : 'private_key');
    const key = privateKey(config, place, credential);
    const audience = audienceFor(config.login_url);
    form = async () => {
      const now = Math.floor(Date.now() / 1000);
      // jose is loaded when an assertion is first signed: no other command needs it.
      const { SignJWT } = await import('jose');
      const assertion = await new SignJWT({})
        .setProtectedHeader({ alg: JWT_ALGORITHM })
        .setIssuer(config.client_id!)
        .setSubject(config.username!)
        .setAudience(audience)
        .setExpirationTime(now + JWT_LIFETIME_SECONDS)
        .sign(key);
      // An assertion is a bearer credential for its two minutes: masked like the tokens.
      redactor.add(assertion);
      return { grant_type: JWT_BEARER_GRANT, assertion };
    };
  } else {
    credential = name('refresh_token');
    // Tideline never stores a token: with refresh token rotation on, the app must keep the configured one valid.
    form = async () => ({
      grant_type: REFRESH_TOKEN_GRANT,
      refresh_token: config.refresh_token!,
      client_id: config.client_id!,
      ...(config.client_secret !== undefined ? { client_secret: config.client_secret } : {}),
    });
  }

  const source = renewingToken({
    credential,
    obtain: async (signal) => {
      const body = await requestToken(tokenUrl, await form(), credential, signal);
      const token = body['access_token'];
      if (typeof token !== 'string' || token === '') throw new AuthError(`getting an access token with ${credential}: the answer of ${new URL(tokenUrl).host} has no access_token`);
      redactor.add(token);
      if (typeof body['instance_url'] === 'string') answeredInstance = body['instance_url'];
      // Salesforce does not say how long the session lasts (the org's session timeout): renewed when a call is refused.
      return { token };
    },
  });
  return {
    source,
    instanceUrl: async (signal) => {
      if (config.instance_url !== undefined) return config.instance_url;
      if (answeredInstance === undefined) await source.token(signal);
      if (answeredInstance === undefined) throw new AuthError(`the token answer for ${credential} named no instance_url: set instance_url in the destination`);
      return answeredInstance;
    },
  };
}

/** The JWT signing key, from `private_key` (PEM text) or `private_key_file`; never quoted in a message. */
function privateKey(config: SalesforceCredentialConfig, place: SalesforceAuthPlace, credential: string): KeyObject {
  let pem: string;
  if (config.private_key !== undefined) pem = config.private_key;
  else {
    const path = resolve(place.root ?? process.cwd(), config.private_key_file!);
    try {
      pem = readFileSync(path, 'utf8');
    } catch (error) {
      throw new AuthError(`${credential}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    }
    redactor.add(pem.trim());
  }
  const key = parsePrivateKey(pem);
  if (!key) throw new AuthError(`${credential}: not a PEM private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)`);
  if (key.asymmetricKeyType !== 'rsa') throw new AuthError(`${credential}: an ${key.asymmetricKeyType ?? 'unknown'} key; Salesforce's JWT bearer flow signs with RSA (RS256)`);
  return key;
}

/**
 * A private key from PEM text (PKCS#8 or PKCS#1), or undefined. Text from an environment variable often carries its
 * line breaks as `\n`: they are read as line breaks.
 */
export function parsePrivateKey(pem: string): KeyObject | undefined {
  const text = pem.includes('\n') ? pem : pem.replace(/\\n/g, '\n');
  try {
    return createPrivateKey(text);
  } catch {
    return undefined;
  }
}

/**
 * What is wrong with a config's credentials, located at its fields: exactly one kind must be given, whole —
 * `access_token` with `instance_url`; or `client_id`, `username` and one of `private_key_file` / `private_key` (JWT
 * bearer); or `client_id` and `refresh_token`, with `client_secret` when the app requires it (refresh token).
 */
export function credentialProblems(config: SalesforceCredentialConfig): ConfigProblem[] {
  const kinds = credentialKinds(config);
  const fieldsOf: Record<SalesforceCredentialKind, readonly (keyof SalesforceCredentialConfig)[]> = {
    access_token: ['access_token'],
    jwt_bearer: ['username', 'private_key_file', 'private_key'],
    refresh_token: ['refresh_token', 'client_secret'],
  };
  const label: Record<SalesforceCredentialKind, string> = { access_token: 'a static access_token', jwt_bearer: 'the JWT bearer flow', refresh_token: 'the refresh token flow' };
  if (kinds.length === 0) {
    return [
      {
        at: config.client_id !== undefined ? ['client_id'] : [],
        message:
          'no Salesforce credentials: give exactly one kind — the JWT bearer flow (`client_id`, `username`, `private_key_file` or `private_key`), the refresh token flow (`client_id`, `refresh_token`, `client_secret`), or a static `access_token` with `instance_url`',
      },
    ];
  }
  if (kinds.length > 1) {
    const second = kinds[1]!;
    const field = fieldsOf[second].find((f) => config[f] !== undefined)!;
    return [{ at: [field], message: `\`${field}\` is ${label[second]}, but ${label[kinds[0]!]} is given too: give exactly one kind of Salesforce credentials` }];
  }
  const problems: ConfigProblem[] = [];
  const kind = kinds[0]!;
  const first = fieldsOf[kind].find((f) => config[f] !== undefined)!;
  if (kind === 'access_token' && config.instance_url === undefined) problems.push({ at: ['access_token'], message: 'a static access_token needs `instance_url` too (the org it was issued for)' });
  if (kind !== 'access_token' && config.client_id === undefined) problems.push({ at: [first], message: `${label[kind]} needs \`client_id\` (the connected app's consumer key)` });
  if (kind === 'jwt_bearer') {
    if (config.username === undefined) problems.push({ at: [first], message: 'the JWT bearer flow needs `username` (the Salesforce user the sync acts as)' });
    if (config.private_key === undefined && config.private_key_file === undefined) problems.push({ at: ['username'], message: 'the JWT bearer flow needs `private_key_file` (or `private_key`): the key whose certificate the connected app holds' });
    if (config.private_key !== undefined && config.private_key_file !== undefined) problems.push({ at: ['private_key'], message: 'give `private_key_file` or `private_key`, not both' });
    if (config.private_key !== undefined && !parsePrivateKey(config.private_key)) problems.push({ at: ['private_key'], message: 'not a PEM private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----); the value is not shown' });
  }
  if (kind === 'refresh_token' && config.refresh_token === undefined) problems.push({ at: ['client_secret'], message: 'the refresh token flow needs `refresh_token`' });
  return problems;
}
