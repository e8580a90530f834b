/**
 * What the docs site reads of dbt's artifacts: target/manifest.json (schema v12), target/run_results.json (v6) —
 * the fields dbt's schemas define, all optional here but the ids, so that the site renders any node dbt's shape
 * allows (Tideline's sources, models and syncs; tests, seeds, snapshots of a manifest dbt wrote) — and Tideline's
 * own target/sync_results.json.
 */

export interface ManifestColumn {
  readonly name?: string;
  readonly description?: string;
  readonly data_type?: string | null;
  readonly meta?: Readonly<Record<string, unknown>>;
  readonly tags?: readonly string[];
}

export interface ManifestNode {
  readonly unique_id: string;
  readonly resource_type: string;
  readonly name: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  readonly columns?: Readonly<Record<string, ManifestColumn>>;
  readonly depends_on?: { readonly nodes?: readonly string[] };
  readonly meta?: Readonly<Record<string, unknown>>;
  readonly config?: { readonly enabled?: boolean; readonly materialized?: string; readonly severity?: string };
  readonly relation_name?: string | null;
  readonly original_file_path?: string;
  // Sources.
  readonly source_name?: string;
  readonly loader?: string;
  readonly identifier?: string;
  readonly loaded_at_field?: string | null;
  // Exposures.
  readonly type?: string;
  readonly url?: string | null;
  // Tests.
  readonly attached_node?: string | null;
  readonly column_name?: string | null;
  readonly test_metadata?: { readonly name?: string; readonly kwargs?: Readonly<Record<string, unknown>>; readonly namespace?: string | null } | null;
}

export interface Manifest {
  readonly metadata?: { readonly project_name?: string; readonly generated_at?: string; readonly adapter_type?: string; readonly dbt_version?: string };
  readonly nodes?: Readonly<Record<string, ManifestNode>>;
  readonly sources?: Readonly<Record<string, ManifestNode>>;
  readonly exposures?: Readonly<Record<string, ManifestNode>>;
}

export interface RunResult {
  readonly unique_id: string;
  readonly status: string;
  readonly execution_time?: number;
  readonly adapter_response?: { readonly rows_affected?: number };
  readonly message?: string | null;
  readonly failures?: number | null;
}

export interface RunResults {
  readonly metadata?: { readonly generated_at?: string; readonly invocation_id?: string };
  readonly results?: readonly RunResult[];
  readonly args?: { readonly which?: string; readonly target?: string };
}

/** Tideline's target/sync_results.json: what `tideline sync` did, per sync. */
export interface SyncResults {
  readonly finished_at?: string;
  readonly target?: string;
  readonly sandbox?: boolean;
  readonly dry_run?: boolean;
  readonly results?: readonly {
    readonly sync: string;
    readonly status: string;
    readonly counts?: Readonly<Record<string, number>>;
    readonly sent?: number;
    readonly accepted?: number;
    readonly rejected?: number;
    readonly seconds?: number;
    readonly error?: string | null;
  }[];
}

/** Every node of the manifest: nodes (models, tests, seeds…), sources and exposures, by unique id. */
export function manifestNodes(manifest: Manifest): Map<string, ManifestNode> {
  const all = new Map<string, ManifestNode>();
  for (const group of [manifest.sources, manifest.nodes, manifest.exposures]) {
    for (const [id, node] of Object.entries(group ?? {})) all.set(id, { ...node, unique_id: node.unique_id ?? id });
  }
  return all;
}

/** Tideline's own facts on a node (`meta.tideline`), when it has them. */
export function tidelineMeta(node: ManifestNode): Readonly<Record<string, unknown>> {
  const meta = node.meta?.['tideline'];
  return meta !== null && typeof meta === 'object' ? (meta as Record<string, unknown>) : {};
}
