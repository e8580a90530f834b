/**
 * The slice of facebook-nodejs-business-sdk (Meta's official Business SDK, Flow-typed JavaScript without TypeScript
 * declarations) that the Meta tests use: its transport and the CustomAudience node. A dev dependency: the adapter
 * never imports it.
 */
declare module 'facebook-nodejs-business-sdk' {
  type Params = Record<string, unknown>;

  class FacebookAdsApi {
    /** `crashLog` false: the SDK must not report crashes over the network from tests. */
    constructor(accessToken: string, locale: string, crashLog: boolean);
    static get VERSION(): string;
    static get SDK_VERSION(): string;
    call(method: string, path: string | readonly string[], params?: Params, files?: Params, useMultipartFormData?: boolean, urlOverride?: string): Promise<unknown>;
  }

  class CustomAudience {
    constructor(id: string, data: Params, parentId: string | undefined, api: FacebookAdsApi);
    static get Fields(): Readonly<Record<string, string>>;
    createUser(fields: readonly string[], params?: Params): Promise<unknown>;
    deleteUsers(params?: Params): Promise<unknown>;
    createUsersReplace(fields: readonly string[], params?: Params): Promise<unknown>;
    get(fields: readonly string[], params?: Params): Promise<unknown>;
  }

  const sdk: { readonly FacebookAdsApi: typeof FacebookAdsApi; readonly CustomAudience: typeof CustomAudience };
  export default sdk;
}
