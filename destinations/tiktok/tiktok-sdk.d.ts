/**
 * The part of TikTok's official SDK (npm `tiktok-business-api-sdk-official`, a dev dependency, shipped without types)
 * that the emulator's test drives: its HTTP client and the audience API, with the envelope it parses answers into.
 */
declare module 'tiktok-business-api-sdk-official' {
  export class ApiClient {
    basePath: string;
  }
  export interface InlineResponse200 {
    code?: number;
    message?: string;
    request_id?: string;
    data?: Record<string, unknown>;
  }
  type Callback = (error: unknown, data: InlineResponse200 | undefined, response: { status: number } | undefined) => void;
  export class AudienceApi {
    constructor(client?: ApiClient);
    dmpCustomAudienceGet(advertiserId: string, customAudienceIds: string[], accessToken: string, opts: Record<string, unknown>, callback: Callback): void;
    dmpCustomAudienceList(advertiserId: string, accessToken: string, opts: Record<string, unknown>, callback: Callback): void;
  }
}
