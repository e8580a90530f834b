/**
 * The slice of facebook-nodejs-business-sdk (Meta's official Business SDK, Flow-typed JavaScript without TypeScript
 * declarations) that the Meta tests use: its transport, the CustomAudience node and the Conversions API's classes. A dev dependency: the adapter
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

  /** The Conversions API's classes: each `normalize()` builds the JSON the SDK sends, `execute()` the request. */
  class ServerEvent {
    normalize(): Params;
  }
  class UserData {
    setEmail(email: string): UserData;
    setPhone(phone: string): UserData;
    setFirstName(firstName: string): UserData;
    setLastName(lastName: string): UserData;
    setCity(city: string): UserData;
    setState(state: string): UserData;
    setZip(zip: string): UserData;
    setCountry(country: string): UserData;
    setGender(gender: string): UserData;
    setExternalId(externalId: string): UserData;
    normalize(): Params;
  }
  class CustomData {
    normalize(): Params;
  }
  class EventRequest {
    execute(): Promise<unknown>;
  }

  const sdk: {
    readonly FacebookAdsApi: typeof FacebookAdsApi;
    readonly CustomAudience: typeof CustomAudience;
    readonly ServerEvent: typeof ServerEvent;
    readonly UserData: typeof UserData;
    readonly CustomData: typeof CustomData;
    readonly EventRequest: typeof EventRequest;
  };
  export default sdk;
}
