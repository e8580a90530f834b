/** Types of bin/build-cli.mjs, for the test set-up that imports it. */
export declare const BUILT_CLI: string;
export declare function buildCli(outfile?: string): Promise<boolean>;
export declare function builtCliIsFresh(built?: string): boolean;
