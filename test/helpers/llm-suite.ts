/**
 * The shared set-up of CLI tests against the fake OpenAI-compatible server: one server per test
 * file, its request log cleared before each test, no scripted reply left over after it, and the
 * test's workspaces removed.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "./fake-openai.js";
import { makeWorkspace, removeWorkspace } from "./workspace.js";

export function fakeOpenAISuite(): { fake: () => FakeOpenAI; workspace: () => string } {
  let fake: FakeOpenAI;
  const dirs: string[] = [];
  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
  });
  afterEach(() => {
    expect(fake.pending(), "scripted replies left over").toBe(0);
    for (const d of dirs.splice(0)) removeWorkspace(d);
  });
  return {
    fake: () => fake,
    workspace: () => {
      const d = makeWorkspace();
      dirs.push(d);
      return d;
    },
  };
}
