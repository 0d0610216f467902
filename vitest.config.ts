import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // the fault suite runs on its own (vitest.faults.config.ts, npm run test:faults) with its ledger
    exclude: ["test/faults/**", "**/node_modules/**"],
    // End-to-end tests train tiny models through the real train.py; 2 cores here.
    testTimeout: 240_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
  },
});
