/** `nas-graph graph`: the search graph as Mermaid (the same graph `run` drives and Studio shows). */
import { buildGraph, inertDeps } from "../graph/graph.js";
import { ui } from "../ui.js";
import { workspacePaths } from "../workspace.js";

export interface GraphOptions {
  json?: boolean;
}

export async function graphCommand(opts: GraphOptions): Promise<void> {
  const graph = buildGraph(inertDeps({ ws: workspacePaths("."), env: {} }, ui));
  const drawable = await graph.getGraphAsync();
  const mermaid = drawable.drawMermaid();
  if (!opts.json) {
    process.stdout.write(mermaid.endsWith("\n") ? mermaid : mermaid + "\n");
    return;
  }
  const nodes = Object.keys(drawable.nodes);
  const edges = drawable.edges.map((e) => ({ source: e.source, target: e.target, conditional: Boolean(e.conditional) }));
  process.stdout.write(JSON.stringify({ nodes, edges, mermaid }) + "\n");
}
