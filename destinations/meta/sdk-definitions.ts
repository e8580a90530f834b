import sdk from 'facebook-nodejs-business-sdk';
import type { EventDefinitions, MetaDefinitions } from './emulator.js';

/**
 * Meta's own definitions of a CustomAudience node, read from the official Business SDK for Node
 * (facebook-nodejs-business-sdk, a dev dependency: tests only). The SDK is generated from Meta's API specs; it ships
 * the node's readable fields (`CustomAudience.Fields`) and one method per edge, each sending its request through
 * `FacebookAdsApi.call`. The edges and their methods are found by calling every method of the node with a transport
 * that records instead of sending: what the SDK would send, not our reading of it.
 */
export function sdkDefinitions(): MetaDefinitions {
  const calls: { method: string; path: readonly string[] }[] = [];
  class Recorder extends sdk.FacebookAdsApi {
    override call(method: string, path: string | readonly string[]): Promise<unknown> {
      calls.push({ method, path: typeof path === 'string' ? path.split('/') : path });
      return Promise.resolve({ data: [], paging: {} });
    }
  }
  const node = new sdk.CustomAudience('0', {}, undefined, new Recorder('definitions', 'en_US', false));
  const methods = node as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of Object.getOwnPropertyNames(sdk.CustomAudience.prototype)) {
    if (name === 'constructor' || typeof methods[name] !== 'function') continue;
    // deleteX(params); getX(fields, params) and createX(fields, params).
    const result = name.startsWith('delete') ? methods[name]!.call(node, {}) : methods[name]!.call(node, [], {});
    if (result instanceof Promise) result.catch(() => undefined);
  }
  const edges = new Set(calls.filter((c) => c.path.length === 2).map((c) => `${c.method} ${c.path[1]}`));
  return { source: `facebook-nodejs-business-sdk ${sdk.FacebookAdsApi.SDK_VERSION} (Marketing API ${sdk.FacebookAdsApi.VERSION})`, fields: new Set(Object.values(sdk.CustomAudience.Fields)), edges, events: eventDefinitions() };
}

/**
 * The keys the SDK sends to the Conversions API, read from its own code: the SDK ships no schema for server events,
 * only classes whose `normalize()` writes each key (`serverEvent.event_id = …`, `userData['em'] = …`) and an
 * EventRequest whose `execute()` lists the request's parameters. Reading those assignments gives every key the SDK
 * can send, including those Tideline does not fill.
 */
export function eventDefinitions(): EventDefinitions {
  const keys = (code: string, pattern: RegExp) => new Set([...code.matchAll(pattern)].map((m) => m[1]!));
  const named = (code: string, target: string) => {
    const found = new Set<string>();
    for (const m of code.matchAll(new RegExp(`${target}(?:\\.(\\w+)|\\[['"](\\w+)['"]\\])\\s*=(?!=)`, 'g'))) found.add((m[1] ?? m[2])!);
    return found;
  };
  // execute() first empties `params`, then fills it with one object literal: the request's parameters.
  const literals = [...sdk.EventRequest.prototype.execute.toString().matchAll(/params\s*=\s*\{([^}]+)\}/g)].map((m) => m[1]!);
  return {
    params: keys(literals.join('\n'), /['"](\w+)['"]\s*:/g),
    event: named(sdk.ServerEvent.prototype.normalize.toString(), 'serverEvent'),
    userData: named(sdk.UserData.prototype.normalize.toString(), 'userData'),
    customData: named(sdk.CustomData.prototype.normalize.toString(), 'customData'),
  };
}

/** The API version the SDK's transport writes in its paths. */
export const SDK_API_VERSION = sdk.FacebookAdsApi.VERSION;

/**
 * A CustomAudience of the official SDK whose requests go to `endpoint` (an emulator on 127.0.0.1) through the SDK's
 * own transport (FacebookAdsApi.call and its HTTP client), unchanged but for the host.
 */
export function sdkAudience(endpoint: string, accessToken: string, audienceId: string): InstanceType<typeof sdk.CustomAudience> {
  class Local extends sdk.FacebookAdsApi {
    override call(method: string, path: string | readonly string[], params?: Record<string, unknown>, files?: Record<string, unknown>, multipart?: boolean): Promise<unknown> {
      return super.call(method, path, params, files, multipart, endpoint);
    }
  }
  return new sdk.CustomAudience(audienceId, {}, undefined, new Local(accessToken, 'en_US', false));
}
