/** `nas-graph graph` (Mermaid, --json) and langgraph.json (LangGraph Studio's entry), through the CLI. */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO, runCli } from "./helpers/workspace.js";

const EDGES = [
  "__start__ --> planner;",
  "planner -.-> trial;",
  "planner -.-> __end__;",
  "trial --> evaluator;",
  "evaluator -.-> review;",
  "evaluator -.-> update_state;",
  "review --> update_state;",
  "update_state -.-> planner;",
  "update_state -.-> __end__;",
];

describe("nas-graph graph", () => {
  it("prints the search graph as Mermaid, and as JSON with --json", async () => {
    const text = await runCli(["graph"]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^%%\{init: .*\}%%\ngraph TD;\n/);
    for (const edge of EDGES) expect(text.stdout).toContain(edge);

    const json = await runCli(["graph", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const g = JSON.parse(json.stdout);
    expect(g.nodes).toEqual(["__start__", "planner", "trial", "evaluator", "review", "update_state", "__end__"]);
    expect(g.edges).toContainEqual({ source: "update_state", target: "planner", conditional: true });
    expect(g.edges).toContainEqual({ source: "trial", target: "evaluator", conditional: false });
    expect(g.edges).toHaveLength(EDGES.length);
    expect(`${g.mermaid.trimEnd()}\n`).toBe(text.stdout);
  });
});

describe("langgraph.json", () => {
  it("points LangGraph Studio at a module exporting the same compiled graph", async () => {
    const config = JSON.parse(fs.readFileSync(path.join(REPO, "langgraph.json"), "utf8"));
    expect(config.node_version).toBe("20");
    const entries = Object.entries(config.graphs as Record<string, string>);
    expect(entries.map(([name]) => name)).toEqual(["nas_search"]);
    const [file, exported] = entries[0][1].split(":");
    expect(fs.existsSync(path.join(REPO, file))).toBe(true);
    const mod = await import(path.join(REPO, file));
    const drawable = await mod[exported].getGraphAsync();
    const cli = JSON.parse((await runCli(["graph", "--json"])).stdout);
    expect(Object.keys(drawable.nodes)).toEqual(cli.nodes);
    expect(drawable.drawMermaid()).toBe(cli.mermaid);
  });
});
